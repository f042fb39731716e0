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
import { createBmcClient } from './bmc';
import { createDhcpServer } from './dhcp/server';
import { createAssetsRouter } from './http/assets/router';
import { recordAssetServed, recordFileEvent } from './hosts/timeline-bridge';
import { createTftpServer } from './tftp/server';
import { createFileHandler } from './tftp/files';
import { ErrorCode, KickstandError } from './errors';
import { bootstrapRouter } from './http/api/bootstrap';
import { lifecycleRouter } from './http/api/lifecycle';
import { createApp } from './http/app';
import { HttpService } from './http/server';
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

export function buildDaemon(config: Config, log: Logger): Daemon {
  mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
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
  const bmcClient = (cfg: Parameters<typeof createBmcClient>[0]) => createBmcClient(cfg, { log: log.child({ component: 'bmc' }) });
  const reimageHost = (name: string, opts: { powerCycle: boolean; cause?: string }) =>
    reimage({ registry, store, log: log.child({ component: 'reimage' }), bmcClient, leaveMesh: (h) => bootstrapper.mesh.remove(h.name) }, name, opts);
  const rollouts = new Rollouts({ registry, store, timeline, log: log.child({ component: 'rollout' }), reimage: reimageHost });
  const lifecycleApi = lifecycleRouter({ registry, store, rollouts, reimage: reimageHost, bmcClient });
  const bootstrapper = new Bootstrapper({ store, registry, config: () => live.current.bootstrap, stateDir: config.stateDir, log, metrics });
  const bootstrapTrigger = new BootstrapTrigger({ bootstrapper, registry, store, config: () => live.current.bootstrap, subscribe: (fn) => timeline.subscribe(fn), log });
  const bootstrapApi = bootstrapRouter({ bootstrapper, registry, store, sshUser: () => live.current.bootstrap.ssh.user });
  const assets = createAssetsRouter({ root: config.imagesDir, log, metrics, onServed: recordAssetServed(store, log) });
  const app = createApp({ store, registry, timeline, log, metrics, apiToken, mounts: [...install.mounts, { path: '/images', router: assets }], apiRouters: [...install.apiRouters, lifecycleApi, bootstrapApi] });
  const [host, port] = splitHostPort(config.http.listen);
  const http = new HttpService(app, host, port, log.child({ component: 'http' }));
  const services: Service[] = [install.timeout, http];
  // DHCP starts after HTTP: it points machines at URLs that must already answer.
  if (config.dhcp.mode !== 'off') {
    const dhcp = createDhcpServer({ config: { dhcp: config.dhcp, network: config.network, http: { publicUrl: config.http.publicUrl! } }, store, log, metrics });
    services.push({ name: 'dhcp', start: () => dhcp.start(), stop: () => dhcp.stop() });
  }
  if (config.tftp.enabled) services.push(tftpService(config, store, log, metrics));
  services.push(bootstrapTrigger);
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
    handler: createFileHandler(config.imagesDir),
    log,
    metrics,
    onEvent: (e) => record({ kind: e.kind, address: e.client.address, path: e.path, message: e.message, data: e.data }),
  });
  return { name: 'tftp', start: () => tftp.start(), stop: () => tftp.stop() };
}
