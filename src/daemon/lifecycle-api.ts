/**
 * @module daemon/lifecycle-api
 * Reimage, rolling rebuilds and BMC power: the lifecycle API, and the service that resumes
 * rolling rebuilds nobody drives (hosts/rollout.ts).
 */
import { createBmcClient, type BmcConfig } from '../bmc';
import type { HostRegistry } from '../hosts/registry';
import { reimage } from '../hosts/reimage';
import { Rollouts } from '../hosts/rollout';
import { lifecycleRouter } from '../http/api/lifecycle';
import type { Logger } from '../log';
import type { Host } from '../model/host';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';

export interface LifecycleWiringDeps {
  store: Store;
  registry: HostRegistry;
  timeline: Timeline;
  log: Logger;
  leaveMesh: (h: Host) => Promise<void>;
  /** This daemon's name in the work claims (store.daemonName; `local` on SQLite). */
  daemonName: string;
  /** Life of a rollout driver's claim without renewal (store.rolloutClaimTtlMs). */
  rolloutClaimTtlMs: number;
}

export function lifecycleWiring(d: LifecycleWiringDeps) {
  const bmcClient = (cfg: BmcConfig) => createBmcClient(cfg, { log: d.log.child({ component: 'bmc' }) });
  const reimageHost = (name: string, opts: { powerCycle: boolean; cause?: string }) =>
    reimage(
      {
        registry: d.registry,
        store: d.store,
        log: d.log.child({ component: 'reimage' }),
        bmcClient,
        leaveMesh: d.leaveMesh,
      },
      name,
      opts,
    );
  const rollouts = new Rollouts({
    registry: d.registry,
    store: d.store,
    timeline: d.timeline,
    log: d.log.child({ component: 'rollout' }),
    reimage: reimageHost,
    daemon: d.daemonName,
    claimTtlMs: d.rolloutClaimTtlMs,
  });
  return {
    router: lifecycleRouter({ registry: d.registry, store: d.store, rollouts, reimage: reimageHost, bmcClient }),
    rollouts: rollouts.service,
  };
}
