/**
 * @module install/timeout
 * Installs that never call back end in `failed` (unlike MAAS' "stuck Deploying"). A
 * host that has been `armed` or `installing` for longer than `install.timeout` seconds moves
 * to `failed`, its token dies and netboot is disarmed (so it never loops into a reinstall).
 *
 * Restart-safe: the time a host entered its state comes from the store — its latest
 * `host.state` event into that state, else the host's `updatedAt` — not from in-memory timers,
 * so a deadline that passed while the daemon was down fires at the first scan after start.
 */
import { isKickstandError } from '../errors';
import type { HostRegistry } from '../hosts/registry';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import type { Host } from '../model/host';
import type { Store } from '../store/store';
import type { InstallTokens } from './tokens';

export interface InstallTimeoutDeps {
  store: Store;
  registry: HostRegistry;
  tokens: InstallTokens;
  /** install.timeout in seconds (read live). */
  timeoutSeconds: () => number;
  log: Logger;
  /** Scan period (default 15 s). */
  intervalMs?: number;
  now?: () => number;
}

const WATCHED: ReadonlySet<Host['state']> = new Set(['armed', 'installing']);

export class InstallTimeoutService implements Service {
  readonly name = 'install-timeout';
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: InstallTimeoutDeps) {
    this.log = deps.log.child({ component: 'install-timeout' });
    this.now = deps.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.deps.intervalMs ?? 15_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; returns how many hosts were moved to failed. Never rejects. */
  scan(): Promise<number> {
    this.running ??= this.scanOnce()
      .catch((err) => {
        this.log.error({ err }, 'install timeout scan failed');
        return 0;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** When `host` entered its current state (epoch ms), from the stored timeline. */
  async enteredAt(host: Host): Promise<number> {
    const events = await this.deps.store.events.list({ host: host.name, limit: 500 });
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.kind === 'host.state' && e.data.to === host.state) return Date.parse(e.ts);
      if (e.kind === 'host.created' && host.state === 'armed') return Date.parse(e.ts);
    }
    return Date.parse(host.updatedAt);
  }

  private async scanOnce(): Promise<number> {
    const limitMs = this.deps.timeoutSeconds() * 1000;
    let moved = 0;
    for (const host of await this.deps.store.hosts.list()) {
      if (!WATCHED.has(host.state)) continue;
      const since = await this.enteredAt(host);
      const age = this.now() - since;
      if (!(age > limitMs)) continue;
      // Re-read: a callback may have moved the host since the list was taken.
      const fresh = await this.deps.store.hosts.get(host.name);
      if (!fresh || fresh.state !== host.state || fresh.version !== host.version) continue;
      const cause = `install timed out: ${host.state} for ${Math.round(age / 1000)} s (install.timeout ${limitMs / 1000} s) without the installed callback`;
      try {
        await this.deps.registry.transition(host.name, 'failed', cause, { netboot: false });
      } catch (err) {
        // The host moved on meanwhile (callback arrived, operator edit): not a timeout.
        if (
          isKickstandError(err) &&
          (err.code === 'KS_CONFLICT' || err.code === 'KS_ILLEGAL_TRANSITION' || err.code === 'KS_HOST_NOT_FOUND')
        )
          continue;
        throw err;
      }
      await this.deps.tokens.revoke(host.name);
      await this.deps.store.events.append({
        host: host.name,
        kind: 'install.timeout',
        level: 'error',
        message: cause,
        data: { state: host.state, ageSeconds: Math.round(age / 1000), timeoutSeconds: limitMs / 1000 },
      });
      this.log.warn({ host: host.name, state: host.state, ageSeconds: Math.round(age / 1000) }, 'install timed out');
      moved++;
    }
    return moved;
  }
}
