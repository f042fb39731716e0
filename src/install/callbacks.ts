/**
 * @module install/callbacks
 * The `%pre` and `%post` callbacks (reliability I03, I04). The token in the URL names the host
 * (never the body); the request must come from the host's bound address (install/binding.ts).
 *  - `installing` (%pre): armed → installing. Repeats while installing are no-ops.
 *  - `installed` (%post, body: the SSH host public keys): armed|installing → installed with the
 *    keys pinned and netboot off, in one registry write; then the token dies. Exactly one such
 *    transition happens per token; a replay gets 410 (token dead), a concurrent duplicate 409.
 * Every refusal is a `install.callback_refused` event and a warn log without the token.
 */
import { createHash } from 'node:crypto';
import { isKickstandError } from '../errors';
import type { HostRegistry } from '../hosts/registry';
import type { Logger } from '../log';
import type { Host } from '../model/host';
import type { Store } from '../store/store';
import type { AddressBinding } from './binding';
import { parseHostKeys } from '../model/ssh-key';
import type { InstallTokens } from './tokens';

export type CallbackKind = 'installing' | 'installed';

export interface CallbackOutcome {
  status: number;
  message: string;
}

export interface InstallCallbacksDeps {
  store: Store;
  registry: HostRegistry;
  tokens: InstallTokens;
  binding: AddressBinding;
  log: Logger;
}

/** `SHA256:…` fingerprint of an OpenSSH public key line, as `ssh-keygen -l` prints it. */
export function fingerprint(key: string): string {
  const blob = Buffer.from(key.split(' ')[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export class InstallCallbacks {
  private readonly log: Logger;
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: InstallCallbacksDeps) {
    this.log = deps.log.child({ component: 'install-callbacks' });
  }

  async handle(kind: CallbackKind, presented: string, ip: string, body: string): Promise<CallbackOutcome> {
    const check = await this.deps.tokens.check(presented);
    if (check.status === 'unknown') return this.refuse(null, kind, ip, 403, 'unknown token');
    const host = await this.deps.store.hosts.get(check.token.host);
    if (!host) return this.refuse(null, kind, ip, 403, 'token of a removed host');
    if (check.status === 'revoked')
      return this.refuse(host.name, kind, ip, 410, 'token already used or revoked (replay)');
    if (check.status === 'expired') return this.refuse(host.name, kind, ip, 410, 'token expired');
    const bound = await this.deps.binding.check(host, ip);
    if (!bound.ok) return this.refuse(host.name, kind, ip, 403, bound.reason);
    if (this.inFlight.has(host.name))
      return this.refuse(host.name, kind, ip, 409, 'another callback for this host is in progress');
    this.inFlight.add(host.name);
    try {
      return kind === 'installing' ? await this.installing(host, ip) : await this.installed(host, ip, body);
    } catch (e) {
      if (isKickstandError(e) && (e.code === 'KS_CONFLICT' || e.code === 'KS_ILLEGAL_TRANSITION')) {
        return this.refuse(host.name, kind, ip, 409, e.message);
      }
      throw e;
    } finally {
      this.inFlight.delete(host.name);
    }
  }

  private async installing(host: Host, ip: string): Promise<CallbackOutcome> {
    if (host.state === 'installing') return { status: 200, message: 'already installing' };
    if (host.state !== 'armed')
      return this.refuse(host.name, 'installing', ip, 409, `host is ${host.state}, not armed`);
    await this.deps.registry.transition(host.name, 'installing', `%pre callback from ${ip}`);
    await this.deps.store.events.append({
      host: host.name,
      kind: 'install.installing',
      message: `installer started (%pre callback from ${ip})`,
      data: { ip },
    });
    this.log.info({ host: host.name, ip }, 'install started');
    return { status: 200, message: 'ok: installing' };
  }

  private async installed(host: Host, ip: string, body: string): Promise<CallbackOutcome> {
    if (host.state !== 'armed' && host.state !== 'installing')
      return this.refuse(host.name, 'installed', ip, 409, `host is ${host.state}, not installing`);
    let keys: string[];
    try {
      keys = parseHostKeys(body.trimStart().startsWith('{') ? keysFromJson(body) : body);
    } catch (e) {
      if (isKickstandError(e)) return this.refuse(host.name, 'installed', ip, 400, e.message);
      throw e;
    }
    await this.deps.registry.transition(host.name, 'installed', `%post callback from ${ip}`, {
      sshHostKeys: keys,
      netboot: false,
    });
    await this.deps.tokens.revoke(host.name);
    const fps = keys.map((k) => `${k.split(' ')[0]} ${fingerprint(k)}`);
    await this.deps.store.events.append({
      host: host.name,
      kind: 'install.installed',
      message: `installed; host keys pinned (${fps.join(', ')}); netboot disarmed`,
      data: { ip, hostKeys: fps },
    });
    this.log.info({ host: host.name, ip, hostKeys: fps }, 'install finished');
    return { status: 200, message: 'ok: installed' };
  }

  private async refuse(
    host: string | null,
    kind: CallbackKind,
    ip: string,
    status: number,
    reason: string,
  ): Promise<CallbackOutcome> {
    await this.deps.store.events.append({
      host,
      kind: 'install.callback_refused',
      level: 'warn',
      message: `${kind} callback from ${ip} refused: ${reason}`,
      data: { ip, callback: kind, status, reason },
    });
    this.log.warn({ host, ip, callback: kind, status, reason }, 'install callback refused');
    return { status, message: `refused: ${reason}` };
  }
}

/** `{"sshHostKeys": ["ssh-ed25519 …", …]}` → one key per line (then validated as text). */
function keysFromJson(body: string): string {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return '{'; // fails validation as "not a key" with the line number
  }
  const list = (v as { sshHostKeys?: unknown }).sshHostKeys;
  return Array.isArray(list)
    ? list
        .filter((k): k is string => typeof k === 'string')
        .map((k) => k.replace(/[\r\n]/g, ' '))
        .join('\n')
    : '{';
}
