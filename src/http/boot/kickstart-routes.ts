/**
 * @module http/boot/kickstart-routes
 * GET /ks/:token — a host's kickstart (reliability I01, K04): the text prepared when the host
 * was armed (install/kickstarts.ts) while its inputs are unchanged, else rendered now.
 * 403 for an unknown token, a removed host or a request from an address the host does not
 * hold; 410 for a token that expired or died (after install, re-arm, timeout). Every refusal
 * is a `kickstart.refused` event and a warn log, without the token. A render failure is a
 * 500 with no body but a pointer to the timeline: never a partial kickstart.
 * The token's `fetched` mark is one conditional write (first fetch only, also across daemons
 * on one PostgreSQL, docs/scale-out.md) and the `kickstart.fetched` event that names it first
 * or again is written in the same transaction (TokenRepo.claimFetchWithEvent): one durable
 * write, and the body is sent only once it is durable.
 *
 * The handler takes node:http's request and response: the daemon runs it on the HTTP server's
 * fast path (./fast-path.ts), express only for URLs in a form the fast path leaves to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isKickstandError } from '../../errors';
import { peerAddress } from '../../hosts/locate';
import { replyText } from '../reply';
import type { BootDeps, BootMetrics } from './deps';

/** GET /ks/<token>, `token` as in the path (decoded). */
export type KickstartHandler = (req: IncomingMessage, res: ServerResponse, token: string) => Promise<void>;

export function kickstartHandler(deps: BootDeps, m: BootMetrics): KickstartHandler {
  const log = deps.log.child({ component: 'kickstart' });

  const refuse = async (
    req: IncomingMessage,
    res: ServerResponse,
    host: string | null,
    ip: string,
    status: 403 | 410,
    reason: string,
  ) => {
    await deps.store.events.append({
      host,
      kind: 'kickstart.refused',
      level: 'warn',
      message: `kickstart refused to ${ip}: ${reason}`,
      data: { ip, status, reason },
    });
    log.warn({ host, ip, status, reason }, 'kickstart refused');
    m.kickstarts.inc({ result: status === 403 ? 'refused' : 'gone' });
    replyText(req, res, status, status === 403 ? 'forbidden\n' : 'gone: this install token is no longer valid\n');
  };

  return async (req, res, presented) => {
    const ip = peerAddress(req.socket.remoteAddress);
    const check = await deps.tokens.check(presented);
    if (check.status === 'unknown') return refuse(req, res, null, ip, 403, 'unknown token');
    const host = await deps.store.hosts.get(check.token.host);
    if (!host) return refuse(req, res, null, ip, 403, 'token of a removed host');
    if (check.status === 'revoked') return refuse(req, res, host.name, ip, 410, 'token already used or revoked');
    if (check.status === 'expired') return refuse(req, res, host.name, ip, 410, 'token expired');
    if (host.state !== 'armed' && host.state !== 'installing')
      return refuse(req, res, host.name, ip, 410, `host is ${host.state}`);
    const bound = await deps.binding.check(host, ip);
    if (!bound.ok) return refuse(req, res, host.name, ip, 403, bound.reason);
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
      return replyText(req, res, 500, `kickstart could not be rendered; see \`kickstand host events ${host.name}\`\n`);
    }
    // One conditional write decides the first fetch, also across daemons on one database; the
    // event saying which it was is in the same transaction.
    const bytes = Buffer.byteLength(text);
    await deps.store.tokens.claimFetchWithEvent(check.token.token, deps.tokens.nowMs(), (c) => ({
      host: host.name,
      kind: 'kickstart.fetched',
      level: c.first ? 'info' : 'warn',
      message: c.first
        ? `kickstart fetched from ${ip}`
        : `kickstart fetched again from ${ip} (first at ${new Date(c.fetchedAt ?? 0).toISOString()})`,
      data: { ip, bytes, again: !c.first },
    }));
    m.kickstarts.inc({ result: 'served' });
    replyText(req, res, 200, text);
  };
}
