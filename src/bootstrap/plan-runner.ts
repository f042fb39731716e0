/**
 * @module bootstrap/plan-runner
 * One host's bootstrap run: connect with the pinned host key (ssh.ts: no pin, no connection),
 * run the plan's steps (steps.ts, plan.ts), and record the outcome. State: installed|ready|
 * failed → bootstrapping → ready | failed, each with its cause on the host's timeline; the
 * outcome also settles the host's wait for a k3s server (server-wait.ts). Queueing and
 * parallelism are the queue's (queue.ts).
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import type { HostRegistry } from '../hosts/registry';
import type { Logger } from '../log';
import type { MeshSync } from '../mesh/sync';
import type { Host } from '../model/host';
import type { Store } from '../store/store';
import type { NodeConnector } from './connect';
import { TOKEN_SETTING, clusterToken } from './k3s';
import { runPlan, type PlanReport } from './plan';
import type { ServerWait } from './server-wait';
import { pinnedKeys } from './ssh';
import { buildPlan, type BundleSource } from './steps';

export interface PlanRunnerDeps {
  store: Store;
  registry: HostRegistry;
  config: () => BootstrapConfig;
  connector: NodeConnector;
  mesh: MeshSync;
  serverWait: ServerWait;
  /** The bootstrap private key (redacted from every output). */
  privateKey: string;
  /** Called when a k3s server has become ready (queues the hosts waiting for one); never rejects. */
  serverReady: (server: string) => Promise<void>;
  log: Logger;
  metrics?: Registry;
  /** Where imported k3s bundles are served from (bootstrap.k3s.source: bundle). */
  bundleSource: () => BundleSource;
}

export interface BootstrapResult extends Omit<PlanReport, 'error'> {
  host: string;
  state: Host['state'];
  error?: { code: string; message: string; fix?: string };
}

/** States a run may start from (`bootstrapping`: the daemon stopped mid-plan; plans are idempotent). */
export const STARTABLE = new Set<Host['state']>(['installed', 'ready', 'failed', 'bootstrapping']);

export class PlanRunner {
  private clusterChain: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly runs?: Counter<'result'>;

  constructor(private readonly deps: PlanRunnerDeps) {
    this.log = deps.log.child({ component: 'bootstrap' });
    if (deps.metrics) {
      this.runs = new Counter({
        name: 'kickstand_bootstrap_runs_total',
        help: 'Bootstrap plan runs by result',
        labelNames: ['result'],
        registers: [deps.metrics],
      });
    }
  }

  async run(name: string, cause: string): Promise<BootstrapResult> {
    const { registry, store, connector } = this.deps;
    let host = await registry.require(name);
    if (!STARTABLE.has(host.state)) {
      return {
        host: name,
        state: host.state,
        ok: false,
        steps: [],
        changed: 0,
        error: { code: ErrorCode.ILLEGAL_TRANSITION, message: `host is ${host.state}` },
      };
    }
    if (host.state !== 'bootstrapping') host = await registry.transition(name, 'bootstrapping', cause);
    const config = this.deps.config();
    try {
      pinnedKeys(name, host.sshHostKeys); // refuse before any address lookup or connection
      const endpoint = host.vars.mesh_endpoint ?? (await connector.address(host));
      const steps = buildPlan(host, endpoint, {
        store,
        mesh: this.deps.mesh,
        connector,
        config,
        clusterLock: (fn) => this.clusterLock(fn),
        bundleSource: this.deps.bundleSource,
      });
      // Known before any output is seen, so the very first run's output is redacted too.
      const token = config.k3s.enabled ? await clusterToken(store.settings) : await store.settings.get(TOKEN_SETTING);
      const report = await runPlan(name, steps, {
        events: store.events,
        log: this.log,
        open: () => connector.open(host),
        secrets: () => [this.deps.privateKey, ...(token ? [token] : [])],
        defaults: { timeoutMs: config.stepTimeoutMs, retries: config.stepRetries, retryDelayMs: config.retryDelayMs },
      });
      if (!report.ok) throw report.error!;
      await this.deps.serverWait.settle(name, undefined);
      // The event first, then the state: whoever sees `ready` (the CLI follows the state) finds
      // bootstrap.done already on the timeline, as bootstrap.failed precedes `failed`.
      await store.events.append({
        host: name,
        kind: 'bootstrap.done',
        message: `bootstrap done: ${report.changed} of ${report.steps.length} steps changed something`,
        data: { changed: report.changed, steps: report.steps.map((s) => s.name) },
      });
      const after = await registry.transition(name, 'ready', `bootstrapped (${report.changed} step(s) changed)`);
      this.runs?.inc({ result: 'ok' });
      if (host.role === 'server' && config.k3s.enabled) await this.deps.serverReady(name);
      return { host: name, state: after.state, ok: true, steps: report.steps, changed: report.changed };
    } catch (e) {
      return this.fail(name, e);
    }
  }

  private async fail(name: string, e: unknown): Promise<BootstrapResult> {
    const err = isKickstandError(e)
      ? e
      : new KickstandError(ErrorCode.BOOTSTRAP_FAILED, (e as Error).message, { cause: e });
    this.runs?.inc({ result: err.code === ErrorCode.HOST_KEY_MISMATCH ? 'host_key_mismatch' : 'failed' });
    this.log.warn({ host: name, code: err.code, error: err.message }, 'bootstrap failed');
    // The wait is recorded before the host is `failed`: a server that becomes ready from then on finds it.
    await this.deps.serverWait
      .settle(name, err.code)
      .catch((we: unknown) =>
        this.log.warn({ host: name, error: (we as Error).message }, 'could not record the wait for a k3s server'),
      );
    await this.deps.store.events.append({
      host: name,
      kind: 'bootstrap.failed',
      level: 'error',
      message: err.message,
      data: { code: err.code, ...(err.fix ? { fix: err.fix } : {}) },
    });
    let state: Host['state'] = 'failed';
    try {
      state = (await this.deps.registry.transition(name, 'failed', err.message)).state;
    } catch (te) {
      this.log.warn({ host: name, error: (te as Error).message }, 'could not mark host failed');
    }
    return {
      host: name,
      state,
      ok: false,
      steps: [],
      changed: 0,
      error: { code: err.code, message: err.message, ...(err.fix ? { fix: err.fix } : {}) },
    };
  }

  /** Serialises the choice of the cluster-initialising server (steps.ts initServerAddress). */
  private clusterLock<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.clusterChain.then(fn, fn);
    this.clusterChain = p.catch(() => undefined);
    return p;
  }
}
