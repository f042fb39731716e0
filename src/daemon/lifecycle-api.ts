/**
 * @module daemon/lifecycle-api
 * Reimage, rolling rebuilds and BMC power: the lifecycle API.
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
  });
  return lifecycleRouter({ registry: d.registry, store: d.store, rollouts, reimage: reimageHost, bmcClient });
}
