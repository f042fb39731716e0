/**
 * @module daemon/bootstrap
 * The SSH bootstrapper, its trigger service (SSH probe of installed hosts) and its API.
 */
import type { Registry } from 'prom-client';
import { Bootstrapper } from '../bootstrap/runner';
import { BootstrapTrigger } from '../bootstrap/trigger';
import type { LiveConfig } from '../config/live';
import type { HostRegistry } from '../hosts/registry';
import { bootstrapRouter } from '../http/api/bootstrap';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';

export interface BootstrapWiringDeps {
  store: Store;
  registry: HostRegistry;
  timeline: Timeline;
  log: Logger;
  live: LiveConfig;
  metrics: Registry;
  stateDir: string;
  /** This daemon's name in the store's work claims. */
  claimHolder: string;
}

export function bootstrapWiring(d: BootstrapWiringDeps) {
  const config = () => d.live.current.bootstrap;
  // Air-gapped k3s (bootstrap.k3s.source: bundle): nodes fetch the imported bundle from /images.
  const bundleSource = () => ({ publicUrl: d.live.current.http.publicUrl, imagesDir: d.live.current.imagesDir });
  const bootstrapper = new Bootstrapper({
    store: d.store,
    registry: d.registry,
    config,
    stateDir: d.stateDir,
    log: d.log,
    metrics: d.metrics,
    bundleSource,
    // Unique per daemon sharing a PostgreSQL, stable across restarts (bootstrap/claim.ts).
    claimHolder: d.claimHolder,
  });
  const trigger = new BootstrapTrigger({
    bootstrapper,
    registry: d.registry,
    store: d.store,
    config,
    subscribe: (fn) => d.timeline.subscribe(fn),
    log: d.log,
  });
  const api = bootstrapRouter({ bootstrapper, registry: d.registry, store: d.store, sshUser: () => config().ssh.user });
  return { bootstrapper, trigger, api };
}
