/**
 * @module http/boot/kickstart-routes
 * GET /ks/:token — a host's kickstart (reliability I01, K04): the text prepared when the host
 * was armed (install/kickstarts.ts) while its inputs are unchanged, else rendered now.
 * 403 for an unknown token, a removed host or a request from an address the host does not
 * hold; 410 for a token that expired or died (after install, re-arm, timeout). Every refusal
 * is a `kickstart.refused` event and a warn log, without the token. A render failure is a
 * 500 with no body but a pointer to the timeline: never a partial kickstart.
 * The token's `fetched` mark is one conditional write (first fetch only, also across daemons
 * on one PostgreSQL, docs/scale-out.md), then the `kickstart.fetched` event names it first or
 * again; the body is sent only once both are durable (two commits: the event must know which
 * it is).
 */
import { Router, type Response } from 'express';
import { isKickstandError } from '../../errors';
import { peerAddress } from '../../hosts/locate';
import type { BootDeps, BootMetrics } from './deps';

function sendText(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain').set('cache-control', 'no-store').send(text);
}

export function kickstartRouter(deps: BootDeps, m: BootMetrics): Router {
  const r = Router();
  const log = deps.log.child({ component: 'kickstart' });

  const refuse = async (res: Response, host: string | null, ip: string, status: 403 | 410, reason: string) => {
    await deps.store.events.append({
      host,
      kind: 'kickstart.refused',
      level: 'warn',
      message: `kickstart refused to ${ip}: ${reason}`,
      data: { ip, status, reason },
    });
    log.warn({ host, ip, status, reason }, 'kickstart refused');
    m.kickstarts.inc({ result: status === 403 ? 'refused' : 'gone' });
    sendText(res, status, status === 403 ? 'forbidden\n' : 'gone: this install token is no longer valid\n');
  };

  r.get('/ks/:token', async (req, res) => {
    const ip = peerAddress(req.socket.remoteAddress);
    const check = await deps.tokens.check(String(req.params.token));
    if (check.status === 'unknown') return refuse(res, null, ip, 403, 'unknown token');
    const host = await deps.store.hosts.get(check.token.host);
    if (!host) return refuse(res, null, ip, 403, 'token of a removed host');
    if (check.status === 'revoked') return refuse(res, host.name, ip, 410, 'token already used or revoked');
    if (check.status === 'expired') return refuse(res, host.name, ip, 410, 'token expired');
    if (host.state !== 'armed' && host.state !== 'installing')
      return refuse(res, host.name, ip, 410, `host is ${host.state}`);
    const bound = await deps.binding.check(host, ip);
    if (!bound.ok) return refuse(res, host.name, ip, 403, bound.reason);
    let text: string;
    try {
      text = await deps.kickstarts.get(host, check.token.token);
    } catch (err) {
      const msg = isKickstandError(err) ? err.message : 'internal error';
      await deps.store.events.append({
        host: host.name,
        kind: 'kickstart.refused',
        level: 'error',
        message: `kickstart could not be rendered: ${msg}`,
        data: { ip, status: 500, reason: msg },
      });
      log.error({ host: host.name, err }, 'kickstart render failed');
      m.kickstarts.inc({ result: 'error' });
      return sendText(res, 500, `kickstart could not be rendered; see \`kickstand host events ${host.name}\`\n`);
    }
    // One conditional write decides the first fetch, also across daemons on one database.
    const again = !(await deps.store.tokens.claimFetch(check.token.token, deps.tokens.nowMs()));
    const t = again ? await deps.store.tokens.get(check.token.token) : undefined;
    await deps.store.events.append({
      host: host.name,
      kind: 'kickstart.fetched',
      level: again ? 'warn' : 'info',
      message: again
        ? `kickstart fetched again from ${ip} (first at ${new Date(t?.fetchedAt ?? 0).toISOString()})`
        : `kickstart fetched from ${ip}`,
      data: { ip, bytes: Buffer.byteLength(text), again },
    });
    m.kickstarts.inc({ result: 'served' });
    sendText(res, 200, text);
  });

  return r;
}
