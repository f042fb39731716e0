/**
 * @module daemon/install
 * Builds the install flow for the daemon from the shared parts: templates and renderer, the
 * address binding, tokens (hooked to the registry's arm), callbacks, the timeout service and
 * the HTTP routes (machine mounts + the render API) and the GRUB configs over TFTP.
 * buildDaemon calls this once.
 */
import type { Router } from 'express';
import type { Service } from '../lifecycle';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { HostRegistry } from '../hosts/registry';
import { bootRoutes } from '../http/boot';
import type { FastPath } from '../http/server';
import type { Logger } from '../log';
import { clusterFacts } from '../render/context';
import { KickstartRenderer } from '../render/kickstart';
import { TemplateSet } from '../render/templates';
import type { Store } from '../store/store';
import { AddressBinding } from '../install/binding';
import { InstallCallbacks } from '../install/callbacks';
import { PreparedKickstarts } from '../install/kickstarts';
import { withGrubConfigs } from '../install/grub-files';
import { HostScripts } from '../install/host-script';
import type { TftpHandler } from '../tftp/types';
import { InstallTimeoutService } from '../install/timeout';
import { InstallTokens } from '../install/tokens';

export interface InstallWiringDeps {
  store: Store;
  registry: HostRegistry;
  /** The current config (live: SIGHUP changes apply to the next request). */
  config: () => Config;
  log: Logger;
  metrics: Registry;
  bootstrapPublicKey: () => Promise<string | null>;
  /** Timeout scan period; default 15 s. */
  timeoutIntervalMs?: number;
}

export interface InstallFlow {
  templates: TemplateSet;
  renderer: KickstartRenderer;
  tokens: InstallTokens;
  kickstarts: PreparedKickstarts;
  /** Prepares the kickstarts of hosts already armed: started before HTTP, so the first fetch is a lookup. */
  prepare: Service;
  callbacks: InstallCallbacks;
  timeout: InstallTimeoutService;
  mounts: Array<{ path: string; router: Router }>;
  /** The boot scripts and kickstarts without express, for the HTTP server (http/boot/fast-path.ts). */
  fastPaths: FastPath[];
  apiRouters: Router[];
  /** Wraps the TFTP file handler with the GRUB chain's configs (install/grub-files.ts). */
  tftpHandler: (files: TftpHandler) => TftpHandler;
}

export function buildInstallFlow(deps: InstallWiringDeps): InstallFlow {
  const { store, registry, config, log, metrics } = deps;
  const templates = new TemplateSet(() => config().kickstartsDir, log);
  const renderer = new KickstartRenderer({
    templates,
    config: () => {
      const c = config();
      return {
        profiles: c.profiles,
        vars: c.vars,
        network: c.network,
        publicUrl: c.http.publicUrl,
        cluster: clusterFacts(c.bootstrap),
      };
    },
    bootstrapPublicKey: deps.bootstrapPublicKey,
  });
  const binding = new AddressBinding(store);
  const tokens = new InstallTokens({ store, binding, ttlSeconds: () => config().install.tokenTtl, log });
  registry.onArm(tokens.armHook());
  const kickstarts = new PreparedKickstarts({ store, renderer, log });
  // After the token hook: the kickstart carries the token just issued. A host that cannot be
  // rendered is still armed; its fetch renders again and is refused with the reason (a 500 and
  // a timeline event), as before.
  registry.onArm(async (host) => {
    const t = await tokens.liveFor(host.name);
    if (!t) return;
    await kickstarts.prepare(host, t.token).catch((err: unknown) => {
      log.warn({ host: host.name, err }, 'kickstart not prepared at arm (it is rendered, or refused, at fetch)');
    });
  });
  const prepare: Service = {
    name: 'kickstarts',
    async start() {
      const n = await kickstarts.prepareAll((h) => tokens.liveFor(h));
      log.info({ hosts: n }, 'kickstarts prepared for the armed hosts');
    },
    async stop() {
      templates.close(); // the folder re-scan timer
    },
  };
  const callbacks = new InstallCallbacks({ store, registry, tokens, binding, log });
  const timeout = new InstallTimeoutService({
    store,
    registry,
    tokens,
    timeoutSeconds: () => config().install.timeout,
    log,
    intervalMs: deps.timeoutIntervalMs,
  });
  const scripts = new HostScripts({
    store,
    tokens,
    binding,
    log: log.child({ component: 'boot' }),
    unknownHosts: () => config().dhcp.unknownHosts,
  });
  const routes = bootRoutes({
    store,
    registry,
    tokens,
    binding,
    callbacks,
    scripts,
    renderer,
    kickstarts,
    config: () => ({ publicUrl: config().http.publicUrl, unknownHosts: config().dhcp.unknownHosts }),
    log,
    metrics,
  });
  const tftpHandler = (files: TftpHandler): TftpHandler =>
    withGrubConfigs(files, { store, scripts, renderer, publicUrl: () => config().http.publicUrl, log });
  return { templates, renderer, tokens, kickstarts, prepare, callbacks, timeout, tftpHandler, ...routes };
}
