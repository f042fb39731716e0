/**
 * @module bootstrap/trigger
 * Starts bootstraps without an operator: a host that reaches `installed` (its %post callback
 * pinned its host keys, then it reboots into the installed system) is probed on its SSH port
 * with exponential backoff until it answers, then bootstrapped. A first-boot callback can skip
 * the wait through {@link BootstrapTrigger.hostUp}. At start-up, hosts left `installed` or
 * `bootstrapping` (daemon stopped mid-plan) are picked up again; plans are idempotent. Agents
 * that failed for want of a k3s server need nothing here: their wait is kept in the store
 * (server-wait.ts).
 * Each probe is a bounded TCP connect; a host that never answers is marked failed after
 * `probe.giveUpAfterMs`, and never delays any other host.
 */
import { connect } from 'node:net';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import type { HostRegistry } from '../hosts/registry';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import type { HostEvent } from '../model/event';
import type { Store } from '../store/store';
import type { Bootstrapper } from './runner';

export interface TriggerDeps {
  bootstrapper: Bootstrapper;
  registry: HostRegistry;
  store: Pick<Store, 'events'>;
  config: () => BootstrapConfig;
  /** Committed timeline events (daemon: Timeline.subscribe). */
  subscribe: (fn: (e: HostEvent) => void) => () => void;
  log: Logger;
}

export class BootstrapTrigger implements Service {
  readonly name = 'bootstrap-trigger';
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly deps: TriggerDeps) {
    this.log = deps.log.child({ component: 'bootstrap-trigger' });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.deps.bootstrapper.mesh.reconcile();
    if (!this.deps.config().enabled) return;
    this.unsubscribe = this.deps.subscribe((e) => {
      if (e.kind === 'host.state' && e.host && (e.data as { to?: string }).to === 'installed') this.watch(e.host);
    });
    for (const h of await this.deps.registry.list()) {
      if (h.state === 'installed') this.watch(h.name);
      else if (h.state === 'bootstrapping') void this.run(h.name, 'resumed after a daemon restart');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // Plans in flight are not awaited: they are idempotent, and a host left `bootstrapping`
    // is resumed at the next start.
  }

  /** The node says it is up (first-boot callback): bootstrap now, no probing. */
  hostUp(name: string): void {
    this.cancel(name);
    void this.run(name, 'first-boot callback');
  }

  /** Probes `name`'s SSH port with backoff, then bootstraps it. */
  watch(name: string): void {
    if (this.stopped || this.timers.has(name) || !this.deps.config().probe.enabled) return;
    const p = this.deps.config().probe;
    const t0 = Date.now();
    const attempt = async (delay: number): Promise<void> => {
      this.timers.delete(name);
      if (this.stopped) return;
      const host = await this.deps.registry.get(name);
      if (!host || host.state !== 'installed') return;
      if (await this.probe(host)) return void this.run(name, 'installed host answered on SSH');
      if (Date.now() - t0 > p.giveUpAfterMs) {
        await this.deps.registry
          .transition(name, 'failed', `SSH did not answer within ${Math.round(p.giveUpAfterMs / 1000)} s after install`)
          .catch(() => undefined);
        return;
      }
      const next = Math.min(delay * 2, p.maxDelayMs);
      this.timers.set(
        name,
        setTimeout(() => void attempt(next), next),
      );
    };
    this.timers.set(
      name,
      setTimeout(() => void attempt(p.initialDelayMs), p.initialDelayMs),
    );
  }

  private cancel(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private async probe(host: Parameters<Bootstrapper['connector']['address']>[0]): Promise<boolean> {
    let address: string;
    try {
      address = await this.deps.bootstrapper.connector.address(host);
    } catch {
      return false;
    }
    const port = this.deps.config().ssh.port;
    const factory = this.deps.bootstrapper.connector.socketFactory;
    return new Promise((resolve) => {
      const s = factory ? factory(address, port) : connect({ host: address, port });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        s.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), 3000);
      // An SSH server speaks first (RFC 4253 §4.2): wait for its identification string.
      s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
      s.once('error', () => done(false));
      s.once('close', () => done(false));
    });
  }

  private async run(name: string, cause: string): Promise<void> {
    try {
      const r = await this.deps.bootstrapper.bootstrap(name, cause);
      this.log.info({ host: name, ok: r.ok, changed: r.changed }, 'bootstrap finished');
    } catch (e) {
      this.log.warn({ host: name, error: (e as Error).message }, 'bootstrap could not start');
    }
  }
}
