/**
 * @module bootstrap/runner
 * Runs bootstrap plans for hosts with bounded parallelism (`bootstrap.parallelism`, like mgmt's
 * `--cconns`): at most that many hosts at once, the rest queued in arrival order; a host
 * already running is not started twice. Each host's plan is independent, so a slow or dead host
 * holds one slot and never blocks the others. State: installed|ready|failed → bootstrapping →
 * ready | failed, each with its cause on the host's timeline. Hosts that failed only because no
 * k3s server had initialised the cluster (KS_K3S_NO_SERVER) are bootstrapped again as soon as a
 * server becomes ready; after a daemon restart they are found again from their timelines.
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import type { HostRegistry } from '../hosts/registry';
import type { Logger } from '../log';
import type { Host } from '../model/host';
import { MeshSync } from '../mesh/sync';
import type { Store } from '../store/store';
import { NodeConnector } from './connect';
import { TOKEN_SETTING, clusterToken } from './k3s';
import { ensureBootstrapKey } from './keys';
import { runPlan, type PlanReport } from './plan';
import type { SocketFactory } from './ssh';
import { buildPlan, meshSettings } from './steps';

export interface BootstrapperDeps {
  store: Store;
  registry: HostRegistry;
  config: () => BootstrapConfig;
  stateDir: string;
  log: Logger;
  metrics?: Registry;
  /** Tests: reach nodes through a forwarder (see test/helpers/sshd-node.ts). */
  socketFactory?: SocketFactory;
}

export interface BootstrapResult extends Omit<PlanReport, 'error'> {
  host: string;
  state: Host['state'];
  error?: { code: string; message: string; fix?: string };
}

const STARTABLE = new Set<Host['state']>(['installed', 'ready', 'failed', 'bootstrapping']);

export class Bootstrapper {
  readonly connector: NodeConnector;
  readonly mesh: MeshSync;
  private readonly running = new Map<string, Promise<BootstrapResult>>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private clusterChain: Promise<unknown> = Promise.resolve();
  /** Hosts that failed for want of a k3s server, bootstrapped again when a server is ready. */
  private readonly awaitingServer = new Set<string>();
  private readonly log: Logger;
  private readonly runs?: Counter<'result'>;
  private readonly privateKey: string;

  constructor(private readonly deps: BootstrapperDeps) {
    this.log = deps.log.child({ component: 'bootstrap' });
    this.privateKey = ensureBootstrapKey(deps.stateDir).privateKey;
    this.connector = new NodeConnector({
      store: deps.store,
      privateKey: () => this.privateKey,
      ssh: () => deps.config().ssh,
      ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
    });
    this.mesh = new MeshSync({
      store: deps.store,
      connector: this.connector,
      settings: () => meshSettings(deps.config()),
      parallelism: () => deps.config().parallelism,
      timeoutMs: () => deps.config().stepTimeoutMs,
      log: deps.log,
    });
    deps.registry.onRemove((h) => {
      this.awaitingServer.delete(h.name);
      return this.mesh.remove(h.name);
    });
    if (deps.metrics) {
      this.runs = new Counter({ name: 'kickstand_bootstrap_runs_total', help: 'Bootstrap plan runs by result', labelNames: ['result'], registers: [deps.metrics] });
    }
  }

  /** Whether `name` is queued or running. */
  isBusy(name: string): boolean {
    return this.running.has(name);
  }

  /** Checks the host can be bootstrapped now (for the API's immediate answer), then queues it. */
  async request(name: string, cause: string): Promise<{ done: Promise<BootstrapResult> }> {
    const host = await this.deps.registry.require(name);
    if (!this.running.has(name) && !STARTABLE.has(host.state)) {
      throw new KickstandError(ErrorCode.ILLEGAL_TRANSITION, `host ${name} is ${host.state}: it can be bootstrapped once installed`, {
        fix: 'wait for the installed callback, or reimage it',
      });
    }
    return { done: this.bootstrap(name, cause) };
  }

  /** Queues a plan run for `name` (or joins the one already queued/running). */
  bootstrap(name: string, cause: string): Promise<BootstrapResult> {
    const cur = this.running.get(name);
    if (cur) return cur;
    const p = this.slot(() => this.runHost(name, cause)).finally(() => this.running.delete(name));
    this.running.set(name, p);
    return p;
  }

  /** Waits for every queued and running plan (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.deps.config().parallelism) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async runHost(name: string, cause: string): Promise<BootstrapResult> {
    const { registry, store } = this.deps;
    let host = await registry.require(name);
    if (!STARTABLE.has(host.state)) {
      return { host: name, state: host.state, ok: false, steps: [], changed: 0, error: { code: ErrorCode.ILLEGAL_TRANSITION, message: `host is ${host.state}` } };
    }
    if (host.state !== 'bootstrapping') host = await registry.transition(name, 'bootstrapping', cause);
    const config = this.deps.config();
    try {
      if (host.sshHostKeys.length === 0) {
        throw new KickstandError(ErrorCode.HOST_KEY_MISMATCH, `no SSH host key is pinned for ${name}: refusing to connect (no trust on first use); nothing was sent`, {
          fix: 'reinstall the host so that its %post callback reports its host keys',
        });
      }
      const endpoint = host.vars.mesh_endpoint ?? (await this.connector.address(host));
      const steps = buildPlan(host, endpoint, { store, mesh: this.mesh, connector: this.connector, config, clusterLock: (fn) => this.clusterLock(fn) });
      // Known before any output is seen, so the very first run's output is redacted too.
      const token = config.k3s.enabled ? await clusterToken(store.settings) : await store.settings.get(TOKEN_SETTING);
      const report = await runPlan(name, steps, {
        events: store.events,
        log: this.log,
        open: () => this.connector.open(host),
        secrets: () => [this.privateKey, ...(token ? [token] : [])],
        defaults: { timeoutMs: config.stepTimeoutMs, retries: config.stepRetries, retryDelayMs: config.retryDelayMs },
      });
      if (!report.ok) throw report.error!;
      // The event first, then the state: whoever sees `ready` (the CLI follows the state) finds
      // bootstrap.done already on the timeline, as bootstrap.failed precedes `failed`.
      await store.events.append({ host: name, kind: 'bootstrap.done', message: `bootstrap done: ${report.changed} of ${report.steps.length} steps changed something`, data: { changed: report.changed, steps: report.steps.map((s) => s.name) } });
      const after = await registry.transition(name, 'ready', `bootstrapped (${report.changed} step(s) changed)`);
      this.runs?.inc({ result: 'ok' });
      if (host.role === 'server' && config.k3s.enabled) this.serverReady(name);
      return { host: name, state: after.state, ok: true, steps: report.steps, changed: report.changed };
    } catch (e) {
      return this.fail(name, e);
    }
  }

  /**
   * Start-up: failed hosts whose latest failure was KS_K3S_NO_SERVER wait for a server again.
   * The failure is read from the timeline: fail() appends bootstrap.failed, then the state event.
   */
  async recoverAwaitingServer(): Promise<number> {
    for (const h of await this.deps.registry.list()) {
      if (h.state !== 'failed') continue;
      const newestFirst = (await this.deps.store.events.list({ host: h.name, limit: 50 })).reverse();
      const failedAt = newestFirst.findIndex((e) => e.kind === 'host.state');
      const cause = newestFirst.slice(failedAt + 1).find((e) => e.kind === 'bootstrap.failed' || e.kind === 'host.state');
      if (failedAt >= 0 && cause?.kind === 'bootstrap.failed' && (cause.data as { code?: string }).code === ErrorCode.K3S_NO_SERVER) this.awaitingServer.add(h.name);
    }
    return this.awaitingServer.size;
  }

  /** A server is ready: the hosts that were waiting for one are queued again. */
  private serverReady(server: string): void {
    const names = [...this.awaitingServer];
    this.awaitingServer.clear();
    for (const n of names) {
      this.bootstrap(n, `k3s server ${server} is ready`).catch((e: unknown) => this.log.warn({ host: n, error: (e as Error).message }, 'bootstrap could not start'));
    }
  }

  private async fail(name: string, e: unknown): Promise<BootstrapResult> {
    const err = isKickstandError(e) ? e : new KickstandError(ErrorCode.BOOTSTRAP_FAILED, (e as Error).message, { cause: e });
    if (err.code === ErrorCode.K3S_NO_SERVER) this.awaitingServer.add(name);
    this.runs?.inc({ result: err.code === ErrorCode.HOST_KEY_MISMATCH ? 'host_key_mismatch' : 'failed' });
    this.log.warn({ host: name, code: err.code, error: err.message }, 'bootstrap failed');
    await this.deps.store.events.append({ host: name, kind: 'bootstrap.failed', level: 'error', message: err.message, data: { code: err.code, ...(err.fix ? { fix: err.fix } : {}) } });
    let state: Host['state'] = 'failed';
    try {
      state = (await this.deps.registry.transition(name, 'failed', err.message)).state;
    } catch (te) {
      this.log.warn({ host: name, error: (te as Error).message }, 'could not mark host failed');
    }
    return { host: name, state, ok: false, steps: [], changed: 0, error: { code: err.code, message: err.message, ...(err.fix ? { fix: err.fix } : {}) } };
  }

  private clusterLock<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.clusterChain.then(fn, fn);
    this.clusterChain = p.catch(() => undefined);
    return p;
  }
}
