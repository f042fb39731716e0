/**
 * @module boot/policy
 * THE boot decisions: what a network-booting machine gets. Pure and protocol-free, like
 * pixiecore's Booter: the protocol layers gather the facts, call these and render the answer.
 *  - {@link decideBoot}: over DHCP (dhcp/handler.ts) — a TFTP loader, a script URL for a
 *    running iPXE, a UEFI HTTP-boot URL, nothing to boot (local), or no answer (ignore).
 *  - {@link decideScript}: over HTTP (`/ipxe/<mac>`, http/boot/ipxe-routes.ts, and the dry run
 *    `host render --ipxe`) and over TFTP (`grub/grub.cfg-01-<mac>`, install/grub-files.ts, the
 *    Secure Boot chain's GRUB) — which script or config: install, local boot, or not registered.
 * TFTP decides nothing else per host: it serves the files under its root to anyone (docs/tftp.md).
 *
 * Netboot is one-shot: only a host whose `netboot` flag is set (armed) is sent into the
 * installer chain. A registered host that is not armed gets `local` from a firmware PXE ROM
 * (no boot file: the firmware boots the next device, the disk) and, when iPXE is already
 * running, the per-host script URL, whose answer for such a host is the local-boot script.
 */
import type { Host } from '../model/host';
import type { InstallToken } from '../model/token';
import type { BootClient, Firmware } from './firmware';

export interface BootPolicyConfig {
  /** TFTP boot loaders per firmware family (file names under the TFTP root). */
  loaders: { bios: string; uefi: string; uefi32: string; arm64: string; arm32: string };
  /** Address of the TFTP server (DHCP siaddr / next-server). */
  nextServer: string;
  /** Resolved base URL of the HTTP service, e.g. http://198.18.0.1:8080 (no trailing slash). */
  publicUrl: string;
  /** URL path (under publicUrl) where UEFI HTTP-boot clients fetch loaders, e.g. /images. */
  httpBootPath: string;
  /** MACs not in the registry: `ignore` (no answer) or `discover` (chain to boot.ipxe, which records and boots local). */
  unknownHosts: 'ignore' | 'discover';
  /** The Secure Boot chain's first stage (shim) per UEFI family, for hosts of a GRUB profile. */
  grubLoaders?: { uefi: string; arm64: string };
  /** Profiles with `loader: grub`: their UEFI hosts get shim → signed GRUB instead of iPXE. */
  grubProfiles?: ReadonlySet<string>;
}

export type BootDecision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'local'; reason: string }
  | { kind: 'loader'; file: string; nextServer: string }
  | { kind: 'script'; url: string }
  | { kind: 'http-boot'; url: string };

/** Minimal host facts the policy reads (a full `Host` fits). */
export type PolicyHost = Pick<Host, 'name' | 'netboot'> & Partial<Pick<Host, 'profile'>>;

/**
 * The loader file for a machine: shim for a UEFI x64/ARM64 host of a GRUB profile (Secure
 * Boot: firmware with Microsoft's keys runs only signed loaders, and Debian's iPXE is not
 * signed), else the iPXE loader of its firmware family.
 */
function loaderOf(client: BootClient, host: PolicyHost | undefined, cfg: BootPolicyConfig): string | undefined {
  if (host?.profile !== undefined && cfg.grubLoaders && cfg.grubProfiles?.has(host.profile) === true) {
    if (client.firmware === 'uefi-x64') return cfg.grubLoaders.uefi;
    if (client.firmware === 'uefi-arm64') return cfg.grubLoaders.arm64;
  }
  return loaderFor(client.firmware, cfg);
}

function loaderFor(fw: Firmware, cfg: BootPolicyConfig): string | undefined {
  switch (fw) {
    case 'bios':
      return cfg.loaders.bios;
    case 'uefi-x64':
      return cfg.loaders.uefi;
    case 'uefi-ia32':
      return cfg.loaders.uefi32;
    case 'uefi-arm64':
      return cfg.loaders.arm64;
    case 'uefi-arm32':
      return cfg.loaders.arm32;
    default:
      return undefined;
  }
}

/** The script every iPXE instance is pointed at; it chains to the per-host script by MAC. */
export function bootScriptUrl(cfg: Pick<BootPolicyConfig, 'publicUrl'>): string {
  return `${cfg.publicUrl.replace(/\/+$/, '')}/boot.ipxe`;
}

/**
 * Decide what `client` boots. `host` is the registered host owning the client's MAC, or
 * undefined for an unknown machine.
 */
export function decideBoot(client: BootClient, host: PolicyHost | undefined, cfg: BootPolicyConfig): BootDecision {
  if (host === undefined && cfg.unknownHosts === 'ignore')
    return { kind: 'ignore', reason: 'unknown MAC (unknownHosts=ignore)' };
  if (!client.pxe && !client.httpBoot && !client.ipxe) return { kind: 'local', reason: 'not a network-boot client' };
  if (host !== undefined && !host.netboot) {
    // iPXE already running (its ROM, or a chainloaded loader) gets its per-host script, which
    // for a host that is not armed is the local-boot script (sanboot/exit): the answer is
    // visible on the host's timeline. A firmware PXE ROM gets no boot file and falls through
    // to the next boot device at once; loading iPXE only to exit would cost a TFTP transfer.
    if (client.ipxe) return { kind: 'script', url: bootScriptUrl(cfg) };
    return { kind: 'local', reason: 'registered, not armed for install' };
  }
  // From here: an armed host, or an unknown machine in discover mode (boot.ipxe serves it the
  // "not registered" script, which records it and boots local disk).
  // iPXE already running: give it the script, never the loader again (chain loop, D18).
  if (client.ipxe) return { kind: 'script', url: bootScriptUrl(cfg) };
  const loader = loaderOf(client, host, cfg);
  if (loader === undefined) return { kind: 'local', reason: `no loader for architecture ${client.arch ?? 'none'}` };
  if (client.httpBoot) {
    // UEFI HTTP boot fetches an EFI binary by URL; it cannot run an iPXE script itself.
    const base = cfg.publicUrl.replace(/\/+$/, '');
    const path = cfg.httpBootPath.replace(/^\/*/, '/').replace(/\/+$/, '');
    return { kind: 'http-boot', url: `${base}${path}/${loader}` };
  }
  return { kind: 'loader', file: loader, nextServer: cfg.nextServer };
}

/** What `/ipxe/<mac>` serves. `record`: an unknown MAC is recorded as discovered. */
export type ScriptDecision =
  { kind: 'install' } | { kind: 'local'; reason: string } | { kind: 'discovered'; record: boolean };

/** The script decisions for a registered host (`discovered` is for unknown MACs only). */
export type HostScriptDecision = Exclude<ScriptDecision, { kind: 'discovered' }>;

/** Host facts the script decision reads (a full `Host` fits). */
export type ScriptHost = Pick<Host, 'state' | 'netboot'>;

/**
 * Decide the iPXE script for the machine whose MAC names `host` (undefined: not registered).
 * `token` is the host's live install token, if any. Only an armed host (state `armed`,
 * `netboot` set) whose kickstart was not fetched yet installs; once fetched (the install ran,
 * its callback was lost) it boots locally until re-armed (reliability I05: no second wipe).
 */
export function decideScript(
  host: ScriptHost,
  token: Pick<InstallToken, 'fetchedAt'> | undefined,
  cfg: Pick<BootPolicyConfig, 'unknownHosts'>,
): HostScriptDecision;
export function decideScript(
  host: ScriptHost | undefined,
  token: Pick<InstallToken, 'fetchedAt'> | undefined,
  cfg: Pick<BootPolicyConfig, 'unknownHosts'>,
): ScriptDecision;
export function decideScript(
  host: ScriptHost | undefined,
  token: Pick<InstallToken, 'fetchedAt'> | undefined,
  cfg: Pick<BootPolicyConfig, 'unknownHosts'>,
): ScriptDecision {
  if (host === undefined) return { kind: 'discovered', record: cfg.unknownHosts === 'discover' };
  if (host.state !== 'armed' || !host.netboot)
    return { kind: 'local', reason: `state ${host.state}${host.netboot ? '' : ', netboot off'}` };
  if (token?.fetchedAt != null)
    return { kind: 'local', reason: 'its kickstart was already fetched (install ran; re-arm to reinstall)' };
  return { kind: 'install' };
}
