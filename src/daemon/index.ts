/**
 * @module daemon
 * The one wiring point: builds the running daemon from a resolved config (the store, the
 * registry, the two HTTP apps — machines' and operators' — and the network services, in start order). `kickstand serve`, the
 * tests and bench/ all use it. No listening happens here; `start()` does that. One file per
 * part: store.ts, install.ts, bootstrap.ts, lifecycle-api.ts, dhcp.ts, tftp.ts, fast-paths.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { ensureTokenFile } from '../auth/api-token';
import { ApiTokens } from '../auth/tokens';
import { SecretBox } from '../auth/secret-box';
import { SealedSecrets } from '../auth/sealed-secrets';
import { BootstrapPublicKey } from '../bootstrap/keys';
import { LiveConfig } from '../config/live';
import { splitHostPort } from '../config/load';
import type { Config } from '../config/schema';
import { HostRegistry } from '../hosts/registry';
import { publishAssetProgress, recordAssetServed } from '../hosts/timeline-bridge';
import { createAssets } from '../http/assets/router';
import { createApiApp, createMachineApp } from '../http/app';
import { secretsRouter } from '../http/api/secrets';
import { ApiService } from '../http/api-server';
import { HttpService } from '../http/server';
import { Lifecycle, type Service } from '../lifecycle';
import { createLogger, type Logger } from '../log';
import { createMetrics } from '../metrics';
import { native, nativeStatus } from '../native';
import type { Store } from '../store/store';
import { Timeline, withTimeline } from '../timeline';
import { bootstrapWiring } from './bootstrap';
import { dhcpService } from './dhcp';
import { chooseFastPaths, logNativeStatus } from './fast-paths';
import { buildInstallFlow } from './install';
import { lifecycleWiring } from './lifecycle-api';
import { openDaemonStore } from './store';
import { tftpService } from './tftp';

export interface Daemon {
  readonly config: LiveConfig;
  readonly log: Logger;
  readonly store: Store;
  readonly registry: HostRegistry;
  readonly metrics: Registry;
  /** The machine listener (`http.listen`): boot scripts, kickstarts, callbacks, /images. */
  readonly http: HttpService;
  /** The machine listener's express app (not listening until start()). */
  readonly app: Express;
  /** The operator listener (`api.listen`): /api/v1, /metrics. */
  readonly api: ApiService;
  /** The operator listener's express app; tests walk its routes. */
  readonly apiApp: Express;
  readonly tokens: ApiTokens;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGHUP: apply the safe parts of `next`; returns keys that need a restart. */
  reload(next: Config): string[];
}

/** What a caller may vary; everything else comes from the config. */
export interface DaemonOverrides {
  /** Default: a JSON logger at config.log.level. Tests pass a silent one. */
  log?: Logger;
}

export function buildDaemon(config: Config, overrides: DaemonOverrides = {}): Daemon {
  const log = overrides.log ?? createLogger({ level: config.log.level });
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  logNativeStatus(log, nativeStatus());
  const fast = chooseFastPaths(native());
  const live = new LiveConfig(config);
  const timeline = new Timeline();
  const opened = openDaemonStore(config, log);
  const rawStore = opened.store;
  // Other daemons' events (a shared PostgreSQL) join this daemon's live feed (docs/scale-out.md).
  rawStore.events.followOthers?.((e) => timeline.publish(e));
  // BMC passwords are sealed at rest with a key in its own file (auth/secret-box.ts).
  const sealed = new SealedSecrets(
    withTimeline(rawStore, timeline),
    new SecretBox(config.secrets.keyFile ?? join(config.stateDir, 'secrets.key')),
  );
  const store = sealed.store;
  const tokens = new ApiTokens(
    ensureTokenFile(config.api.tokenFile ?? join(config.stateDir, 'api-token')),
    join(config.stateDir, 'tokens.json'),
  );
  const metrics = createMetrics();
  const registry = new HostRegistry(store, {
    get profiles() {
      return live.current.profiles;
    },
    get network() {
      return live.current.network;
    },
  });

  const bootstrapKey = new BootstrapPublicKey(() => live.current.stateDir);
  const install = buildInstallFlow({
    store,
    registry,
    config: () => live.current,
    log,
    metrics,
    bootstrapPublicKey: async () => bootstrapKey.get(),
  });
  const bootstrap = bootstrapWiring({
    store,
    registry,
    live,
    timeline,
    log,
    metrics,
    stateDir: config.stateDir,
    claimHolder: opened.daemonName,
  });
  const lifecycleApi = lifecycleWiring({
    store,
    registry,
    timeline,
    log,
    leaveMesh: (h) => bootstrap.bootstrapper.mesh.remove(h.name),
    daemonName: opened.daemonName,
    rolloutClaimTtlMs: config.store.rolloutClaimTtlMs,
  });
  const assets = createAssets({
    root: config.imagesDir,
    log,
    metrics,
    sendfile: fast.sendfile,
    onServed: recordAssetServed(store, log),
    onProgress: publishAssetProgress(store, timeline, log),
  });
  const app = createMachineApp({ store, log, mounts: [...install.mounts, { path: '/images', router: assets.router }] });
  const apiApp = createApiApp({
    store,
    registry,
    timeline,
    log,
    metrics,
    tokens,
    apiRouters: [
      ...install.apiRouters,
      lifecycleApi.router,
      bootstrap.api,
      secretsRouter({ rotate: () => sealed.rotate() }),
    ],
  });
  const { cert, key } = config.api.tls;
  const api = new ApiService(
    apiApp,
    { listen: config.api.listen, tls: cert !== null && key !== null ? { cert, key } : null },
    log.child({ component: 'api' }),
  );
  const [host, port] = splitHostPort(config.http.listen);
  const http = new HttpService(app, host, port, log.child({ component: 'http' }), [
    { prefix: '/images/', handle: assets.handle },
    ...install.fastPaths,
  ]);
  // The store first: PostgreSQL is connected and migrated before anything reads it; then BMC
  // secrets are sealed, and the kickstarts of hosts already armed are prepared, before HTTP opens.
  const services: Service[] = [opened.service, sealed.service(log), install.prepare, install.timeout, http, api];
  // DHCP starts after HTTP: it points machines at URLs that must already answer.
  if (config.dhcp.mode !== 'off')
    services.push(
      dhcpService(config, store, log, metrics, config.store.kind === 'postgres' ? opened.daemonName : undefined),
    );
  if (config.tftp.enabled) services.push(tftpService(config, store, log, metrics, fast, install.tftpHandler));
  services.push(bootstrap.trigger);
  // Last: rolling rebuilds that nobody drives (this daemon before a restart, or a dead peer)
  // resume once everything they wait on runs (hosts/rollout.ts).
  services.push(lifecycleApi.rollouts);
  const lifecycle = new Lifecycle(services, log);

  return {
    config: live,
    log,
    store,
    registry,
    metrics,
    http,
    app,
    api,
    apiApp,
    tokens,
    start: () => lifecycle.start(),
    async stop() {
      await lifecycle.stop();
      await rawStore.close();
    },
    reload(next) {
      const restart = live.reload(next);
      log.level = live.current.log.level;
      return restart;
    },
  };
}
