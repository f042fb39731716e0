/**
 * @module daemon
 * Builds the running daemon from a validated config: the store, the registry, the HTTP app and
 * the network services, in start order. No listening happens here; `start()` does that.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { ensureTokenFile } from './auth/api-token';
import { bootstrapPublicKey } from './bootstrap/keys';
import { Bootstrapper } from './bootstrap/runner';
import { BootstrapTrigger } from './bootstrap/trigger';
import { LiveConfig } from './config/live';
import { splitHostPort } from './config/load';
import type { Config } from './config/schema';
import { HostRegistry } from './hosts/registry';
import { reimage } from './hosts/reimage';
import { Rollouts } from './hosts/rollout';
import { createBmcClient, type BmcConfig } from './bmc';
import type { Host } from './model/host';
import { createDhcpServer } from './dhcp/server';
import { warmUpDhcp } from './dhcp/warmup';
import { createAssets } from './http/assets/router';
import { publishAssetProgress, recordAssetServed, recordFileEvent } from './hosts/timeline-bridge';
import { createTftpServer } from './tftp/server';
import { createFileHandler } from './tftp/files';
import { ErrorCode, KickstandError } from './errors';
import { bootstrapRouter } from './http/api/bootstrap';
import { lifecycleRouter } from './http/api/lifecycle';
import { createApp } from './http/app';
import { HttpService } from './http/server';
import { native, nativeStatus } from './native';
import { buildInstallFlow } from './install/wiring';
import { Lifecycle, type Service } from './lifecycle';
import type { Logger } from './log';
import { createMetrics } from './metrics';
import { openSqliteStore } from './store/sqlite';
import type { Store } from './store/store';
import { Timeline, withTimeline } from './timeline';

export interface Daemon {
  readonly config: LiveConfig;
  readonly store: Store;
  readonly registry: HostRegistry;
  readonly metrics: Registry;
  readonly http: HttpService;
  /** The express app (not listening until start()); tests walk its routes. */
  readonly app: Express;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGHUP: apply the safe parts of `next`; returns keys that need a restart. */
  reload(next: Config): string[];
}

/** Says once whether sendfile(2) and the native TFTP data phase are in use (src/native). */
function logNativeStatus(log: Logger): void {
  const st = nativeStatus();
  if (st.loaded) log.info({ file: st.file }, 'native fast paths loaded: sendfile for /images, TFTP data phase on threads');
  else log.warn({ reason: st.reason }, 'native fast paths unavailable: /images and TFTP use the slower JavaScript paths (fix: build with a C toolchain, npm rebuild kickstand)');
}

export function buildDaemon(config: Config, log: Logger): Daemon {
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
  logNativeStatus(log);
  const live = new LiveConfig(config);
  const timeline = new Timeline();
  const rawStore = openSqliteStore(join(config.stateDir, 'kickstand.db'));
  const store = withTimeline(rawStore, timeline);
  const apiToken = ensureTokenFile(config.api.tokenFile ?? join(config.stateDir, 'api-token'));
  const metrics = createMetrics();
  const registry = new HostRegistry(store, {
    get profiles() {
      return live.current.profiles;
    },
    get network() {
      return live.current.network;
    },
  });

  const install = buildInstallFlow({ store, registry, config: () => live.current, log, metrics, bootstrapPublicKey: async () => bootstrapPublicKey(live.current.stateDir) });
  const bootstrap = bootstrapWiring({ store, registry, live, timeline, log, metrics, stateDir: config.stateDir });
  const lifecycleApi = lifecycleWiring({ store, registry, timeline, log, leaveMesh: (h) => bootstrap.bootstrapper.mesh.remove(h.name) });
  const assets = createAssets({ root: config.imagesDir, log, metrics, onServed: recordAssetServed(store, log), onProgress: publishAssetProgress(store, timeline, log) });
  const app = createApp({ store, registry, timeline, log, metrics, apiToken, mounts: [...install.mounts, { path: '/images', router: assets.router }], apiRouters: [...install.apiRouters, lifecycleApi, bootstrap.api] });
  const [host, port] = splitHostPort(config.http.listen);
  const http = new HttpService(app, host, port, log.child({ component: 'http' }), [{ prefix: '/images/', handle: assets.handle }]);
  const services: Service[] = [install.timeout, http];
  // DHCP starts after HTTP: it points machines at URLs that must already answer.
  if (config.dhcp.mode !== 'off') {
    const dhcpConfig = { dhcp: config.dhcp, network: config.network, http: { publicUrl: config.http.publicUrl! } };
    const dhcp = createDhcpServer({ config: dhcpConfig, store, log, metrics });
    const start = async (): Promise<void> => {
      if (config.dhcp.warmUp) {
        // Same store classes as the daemon's, none of its rows (dhcp/warmup.ts). An
        // optimisation only: if it fails (no loopback, say) DHCP starts cold.
        try {
          const w = await warmUpDhcp(dhcpConfig, () => openSqliteStore(':memory:'));
          log.info({ component: 'dhcp', exchanges: w.exchanges, ms: w.ms }, 'dhcp warmed up over loopback before opening its sockets');
        } catch (err) {
          log.warn({ component: 'dhcp', err }, 'dhcp warm-up failed; starting cold (set dhcp.warmUp: false to skip it)');
        }
      }
      await dhcp.start();
    };
    services.push({ name: 'dhcp', start, stop: () => dhcp.stop() });
  }
  if (config.tftp.enabled) services.push(tftpService(config, store, log, metrics));
  services.push(bootstrap.trigger);
  const lifecycle = new Lifecycle(services, log);

  return {
    config: live,
    store,
    registry,
    metrics,
    http,
    app,
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

/** TFTP over imagesDir, one listening socket per address clients use (default: network.address). */
function tftpService(config: Config, store: Store, log: Logger, metrics: Registry): Service {
  if (!existsSync(config.imagesDir)) {
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `imagesDir ${config.imagesDir} does not exist`, {
      field: 'imagesDir',
      fix: 'create it and fill it with `kickstand images sync` (see images/README.md), or set tftp.enabled: false',
    });
  }
  const tftpConfig = { ...config.tftp, listen: config.tftp.listen.length > 0 ? config.tftp.listen : [config.network.address] };
  const record = recordFileEvent(store, log);
  const tftp = createTftpServer({
    config: tftpConfig,
    // With the native data phase, files are read with pread from the page cache on the transfer's
    // thread; an in-memory copy would only send loaders down the slower JS path (buffers stay there).
    handler: createFileHandler(config.imagesDir, native() !== null ? { cacheFileBytes: 0 } : {}),
    log,
    metrics,
    onEvent: (e) => record({ kind: e.kind, address: e.client.address, path: e.path, message: e.message, data: e.data }),
  });
  return { name: 'tftp', start: () => tftp.start(), stop: () => tftp.stop() };
}

interface WiringDeps {
  store: Store;
  registry: HostRegistry;
  timeline: Timeline;
  log: Logger;
}

/** The SSH bootstrapper, its trigger service (SSH probe of installed hosts) and its API. */
function bootstrapWiring(d: WiringDeps & { live: LiveConfig; metrics: Registry; stateDir: string }) {
  const config = () => d.live.current.bootstrap;
  const bootstrapper = new Bootstrapper({ store: d.store, registry: d.registry, config, stateDir: d.stateDir, log: d.log, metrics: d.metrics });
  const trigger = new BootstrapTrigger({ bootstrapper, registry: d.registry, store: d.store, config, subscribe: (fn) => d.timeline.subscribe(fn), log: d.log });
  const api = bootstrapRouter({ bootstrapper, registry: d.registry, store: d.store, sshUser: () => config().ssh.user });
  return { bootstrapper, trigger, api };
}

/** Reimage, rolling rebuilds and BMC power: the lifecycle API. */
function lifecycleWiring(d: WiringDeps & { leaveMesh: (h: Host) => Promise<void> }) {
  const bmcClient = (cfg: BmcConfig) => createBmcClient(cfg, { log: d.log.child({ component: 'bmc' }) });
  const reimageHost = (name: string, opts: { powerCycle: boolean; cause?: string }) =>
    reimage({ registry: d.registry, store: d.store, log: d.log.child({ component: 'reimage' }), bmcClient, leaveMesh: d.leaveMesh }, name, opts);
  const rollouts = new Rollouts({ registry: d.registry, store: d.store, timeline: d.timeline, log: d.log.child({ component: 'rollout' }), reimage: reimageHost });
  return lifecycleRouter({ registry: d.registry, store: d.store, rollouts, reimage: reimageHost, bmcClient });
}
