/**
 * @module http/boot/deps
 * What the machine-facing boot routes need, and their metrics. Config is read live (a getter)
 * so SIGHUP changes to profiles, vars and policy apply to the next request.
 */
import { Counter, type Registry } from 'prom-client';
import type { HostRegistry } from '../../hosts/registry';
import type { AddressBinding } from '../../install/binding';
import type { InstallCallbacks } from '../../install/callbacks';
import type { PreparedKickstarts } from '../../install/kickstarts';
import type { HostScripts } from '../../install/host-script';
import type { InstallTokens } from '../../install/tokens';
import type { Logger } from '../../log';
import type { KickstartRenderer } from '../../render/kickstart';
import type { Store } from '../../store/store';

export interface BootRouteConfig {
  /** http.publicUrl, resolved, no trailing slash. */
  publicUrl: string;
  /** dhcp.unknownHosts: `discover` records unknown MACs that ask for a script. */
  unknownHosts: 'ignore' | 'discover';
}

export interface BootDeps {
  store: Store;
  registry: HostRegistry;
  tokens: InstallTokens;
  binding: AddressBinding;
  callbacks: InstallCallbacks;
  /** The per-machine script decision with its token and address checks (shared with TFTP's GRUB). */
  scripts: HostScripts;
  renderer: KickstartRenderer;
  /** The kickstarts rendered ahead of their fetch (install/kickstarts.ts). */
  kickstarts: PreparedKickstarts;
  config: () => BootRouteConfig;
  log: Logger;
  metrics: Registry;
}

export interface BootMetrics {
  scripts: Counter<'script'>;
  kickstarts: Counter<'result'>;
  callbacks: Counter<'callback' | 'status'>;
}

export function bootMetrics(registry: Registry): BootMetrics {
  return {
    scripts: new Counter({
      name: 'kickstand_ipxe_scripts_total',
      help: 'iPXE scripts served, by script (chain, install, local, discovered, refused)',
      labelNames: ['script'],
      registers: [registry],
    }),
    kickstarts: new Counter({
      name: 'kickstand_kickstart_requests_total',
      help: 'Kickstart requests by result (served, refused, gone, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    callbacks: new Counter({
      name: 'kickstand_install_callbacks_total',
      help: 'Install callbacks by kind and HTTP status',
      labelNames: ['callback', 'status'],
      registers: [registry],
    }),
  };
}
