/**
 * @module install/grub-files
 * The GRUB configs over TFTP, the dynamic files docs/tftp.md describes: a TFTP handler that
 * answers the Secure Boot chain's network GRUB and hands every other name to the jailed file
 * handler (tftp/files.ts).
 *  - `grub/grub.cfg`: the chain config (boot/grub.ts grubChainConfig), the one file Debian's
 *    signed grubnetx64 reads by itself;
 *  - `grub/grub.cfg-01-<mac>` (`-` or `:` between the octets: the chain asks with GRUB's
 *    `$net_default_mac`, upstream GRUB's own lookup with dashes): the machine's config, the
 *    same decision as its iPXE script (install/host-script.ts), rendered by boot/grub.ts and put
 *    on its timeline as a `tftp.grub` event (an observation, not awaited: install/observe.ts). An install config holds the one-time token, so it
 *    goes only to the host's own address.
 * GRUB asks with a leading `/` (`/grub/grub.cfg`); tftp/files.ts strips it like tftpd-hpa's
 * `--secure`. A file of the same name under images/ is never consulted: these names are ours.
 */
import {
  GRUB_DIR,
  grubChainConfig,
  grubDiscoveredConfig,
  grubErrorConfig,
  grubInstallConfig,
  grubLocalConfig,
} from '../boot/grub';
import { kickstartUrl, assetUrl } from '../render/context';
import type { KickstartRenderer } from '../render/kickstart';
import { ErrorCode, KickstandError } from '../errors';
import { parseMac } from '../model/mac';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { TftpContent, TftpHandler } from '../tftp/types';
import type { HostScripts } from './host-script';
import { observe } from './observe';

export interface GrubFilesDeps {
  store: Store;
  scripts: HostScripts;
  renderer: KickstartRenderer;
  /** http.publicUrl, resolved (the kickstart and install tree stay on HTTP). */
  publicUrl: () => string;
  log: Logger;
}

const HOST_CONFIG = new RegExp(`^/?${GRUB_DIR}/grub\\.cfg-01-([0-9A-Fa-f:-]{17})$`);
const CHAIN = new RegExp(`^/?${GRUB_DIR}/grub\\.cfg$`);

const text = (s: string): TftpContent => {
  const buffer = Buffer.from(s, 'utf8');
  return { size: buffer.length, buffer };
};

/** `next` with the GRUB config names answered first. */
export function withGrubConfigs(next: TftpHandler, deps: GrubFilesDeps): TftpHandler {
  return async (name, client) => {
    if (CHAIN.test(name)) return text(grubChainConfig());
    const m = HOST_CONFIG.exec(name);
    if (!m) return next(name, client);
    const mac = parseMac(m[1]!);
    if (mac === undefined) throw new KickstandError(ErrorCode.NOT_FOUND, 'not a MAC address');
    return text(await hostConfig(deps, mac, client.address));
  };
}

async function hostConfig(deps: GrubFilesDeps, mac: string, ip: string): Promise<string> {
  const s = await deps.scripts.resolve(mac, ip, 'GRUB config');
  if (s.kind === 'discovered') return grubDiscoveredConfig(mac);
  if (s.kind === 'refused') throw new KickstandError(ErrorCode.PATH_REFUSED, 'refused');
  const { host, decision: d, token } = s;
  let out: string;
  if (d.kind === 'local') out = grubLocalConfig(host.name, d.reason);
  else {
    const profile = deps.renderer.profileOf(host);
    const remote = [profile.kernel, profile.initrd].find((p) => /^https?:\/\//.test(p));
    const publicUrl = deps.publicUrl();
    out =
      remote !== undefined
        ? grubErrorConfig(
            host.name,
            `profile ${host.profile} names ${remote}; the GRUB chain fetches kernel and initrd over TFTP, so they must be paths under images/`,
          )
        : grubInstallConfig({
            host: host.name,
            profile: host.profile,
            mac,
            kernelPath: profile.kernel,
            initrdPath: profile.initrd,
            kickstartUrl: kickstartUrl(publicUrl, token?.token ?? ''),
            installTree: assetUrl(publicUrl, profile.installTree),
            kernelArgs: profile.kernelArgs,
          });
  }
  const what = d.kind === 'install' ? 'install config' : `local-boot config (${d.reason})`;
  // A pure observation (install/observe.ts): the TFTP answer does not wait for its fsync.
  observe(deps.store, deps.log, {
    host: host.name,
    mac,
    kind: 'tftp.grub',
    level: d.kind === 'local' && host.state === 'armed' ? 'warn' : 'info',
    message: `served GRUB ${what} to ${ip}`,
    data: { ip, script: d.kind },
  });
  return out;
}
