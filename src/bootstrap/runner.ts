/**
 * @module bootstrap/runner
 * The bootstrapper as the daemon, the API (http/api/bootstrap.ts) and the trigger (trigger.ts)
 * see it: one facade over its parts, each in its own file.
 *   queue.ts        at most `bootstrap.parallelism` runs at once, one per host at a time
 *   plan-runner.ts  one host's run: pinned SSH, the plan's steps, the outcome
 *   server-wait.ts  agents that failed with KS_K3S_NO_SERVER, kept in the store; they are
 *                   queued again when a server becomes ready (also after a restart)
 *   mesh/sync.ts    the WireGuard mesh the bootstrapper drives (peers pushed by mesh-push.ts)
 */
import type { Registry } from 'prom-client';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import { ErrorCode, KickstandError } from '../errors';
import type { HostRegistry } from '../hosts/registry';
import type { Logger } from '../log';
import { MeshSync } from '../mesh/sync';
import type { Store } from '../store/store';
import { NodeConnector } from './connect';
import { ensureBootstrapKey } from './keys';
import { meshPush } from './mesh-push';
import { PlanRunner, STARTABLE, type BootstrapResult } from './plan-runner';
import { withClaim } from './claim';
import { BootstrapQueue } from './queue';
import { ServerWait } from './server-wait';
import type { SocketFactory } from './ssh';
import type { BundleSource } from './steps';

export interface BootstrapperDeps {
  store: Store;
  registry: HostRegistry;
  config: () => BootstrapConfig;
  stateDir: string;
  log: Logger;
  metrics?: Registry;
  /**
   * The live config's imagesDir and http.publicUrl: where nodes fetch an imported k3s bundle
   * (bootstrap.k3s.source: bundle, the default). Without it only source internet can join k3s.
   */
  bundleSource: () => BundleSource;
  /** Tests: reach nodes through a forwarder (see test/helpers/sshd-node.ts). */
  socketFactory?: SocketFactory;
  /**
   * This daemon's name in the store's work claims (claim.ts): unique among the daemons sharing
   * the store, stable across its restarts. Default `local` (one daemon).
   */
  claimHolder?: string;
}

export class Bootstrapper {
  readonly connector: NodeConnector;
  readonly mesh: MeshSync;
  private readonly queue: BootstrapQueue<BootstrapResult>;
  private readonly runner: PlanRunner;
  private readonly serverWait: ServerWait;
  private readonly log: Logger;

  constructor(private readonly deps: BootstrapperDeps) {
    this.log = deps.log.child({ component: 'bootstrap' });
    const privateKey = ensureBootstrapKey(deps.stateDir).privateKey;
    this.connector = new NodeConnector({
      store: deps.store,
      privateKey: () => privateKey,
      ssh: () => deps.config().ssh,
      ...(deps.socketFactory ? { socketFactory: deps.socketFactory } : {}),
    });
    this.mesh = new MeshSync({
      store: deps.store,
      push: meshPush(this.connector, deps.config),
      parallelism: () => deps.config().parallelism,
      log: deps.log,
    });
    // A deleted host's wait goes with its store row; its mesh address is freed here.
    deps.registry.onRemove((h) => this.mesh.remove(h.name));
    this.queue = new BootstrapQueue(() => deps.config().parallelism);
    this.serverWait = new ServerWait(deps.store);
    this.runner = new PlanRunner({
      store: deps.store,
      registry: deps.registry,
      config: deps.config,
      connector: this.connector,
      mesh: this.mesh,
      serverWait: this.serverWait,
      privateKey,
      serverReady: (server) => this.serverReady(server),
      log: deps.log,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      bundleSource: deps.bundleSource,
    });
  }

  /** Whether `name` is queued or running. */
  isBusy(name: string): boolean {
    return this.queue.has(name);
  }

  /** Checks the host can be bootstrapped now (for the API's immediate answer), then queues it. */
  async request(name: string, cause: string): Promise<{ done: Promise<BootstrapResult> }> {
    const host = await this.deps.registry.require(name);
    if (!this.queue.has(name) && !STARTABLE.has(host.state)) {
      throw new KickstandError(
        ErrorCode.ILLEGAL_TRANSITION,
        `host ${name} is ${host.state}: it can be bootstrapped once installed`,
        {
          fix: 'wait for the installed callback, or reimage it',
        },
      );
    }
    return { done: this.bootstrap(name, cause) };
  }

  /** Queues a plan run for `name` (or joins the one already queued/running). */
  bootstrap(name: string, cause: string): Promise<BootstrapResult> {
    return this.queue.run(name, () =>
      withClaim(this.deps.store.claims, `bootstrap:${name}`, this.deps.claimHolder ?? 'local', {
        run: () => this.runner.run(name, cause),
        elsewhere: async () => {
          this.log.info({ host: name }, 'bootstrap runs on another daemon (claimed in the store); not started here');
          const host = await this.deps.registry.get(name);
          return {
            host: name,
            state: host?.state ?? 'failed',
            ok: false,
            steps: [],
            changed: 0,
            error: {
              code: ErrorCode.CONFLICT,
              message: `the bootstrap of ${name} runs on another daemon`,
              fix: 'follow it with `kickstand watch`; it is claimed again if that daemon stops',
            },
          };
        },
      }),
    );
  }

  /** Waits for every queued and running plan (shutdown, tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * A server is ready: the hosts that were waiting for one are queued again, before the
   * server's own run settles (so idle() covers them).
   */
  private async serverReady(server: string): Promise<void> {
    let names: string[];
    try {
      names = await this.serverWait.release();
    } catch (e) {
      this.log.warn({ server, error: (e as Error).message }, 'could not read the hosts waiting for a k3s server');
      return;
    }
    for (const n of names) {
      this.bootstrap(n, `k3s server ${server} is ready`).catch((e: unknown) =>
        this.log.warn({ host: n, error: (e as Error).message }, 'bootstrap could not start'),
      );
    }
  }
}
