/**
 * @module boot/grub
 * The text of the GRUB configs Kickstand serves to a network GRUB (pure: strings in, config
 * out), the Secure Boot chain's counterpart of boot/ipxe.ts: shim → Debian's signed
 * `grubnetx64.efi` → these configs → a signed kernel (docs/firmware.md "Secure Boot").
 *  - {@link grubChainConfig} (`grub/grub.cfg` over TFTP): the one file Debian's signed network
 *    GRUB reads by itself (`$prefix/grub.cfg`, prefix `(tftp,<next-server>)/grub`); it hands
 *    over to the machine's own config, named by the MAC GRUB booted from.
 *  - {@link grubInstallConfig}: an armed host — kernel + initrd from the TFTP root (Debian's
 *    signed GRUB has no HTTP: its `http` is a module, and Secure Boot forbids loading modules),
 *    `inst.ks=` with the one-time kickstart URL.
 *  - {@link grubLocalConfig} / {@link grubDiscoveredConfig}: `exit`, back to shim and the
 *    firmware, which tries its next boot option (the disk).
 * The decisions are boot/policy.ts decideScript's, the same as for iPXE. Every value put into
 * a config is single-quoted ({@link grubQuote}): GRUB would otherwise expand `$` and split on
 * `;` inside an operator's kernel arguments.
 */
import { hyphenMac } from './ipxe';

/** The directory of GRUB's network prefix (Debian's grubnetx64: `$prefix` = `(tftp,…)/grub`). */
export const GRUB_DIR = 'grub';

/** Per-machine config name under {@link GRUB_DIR}: upstream GRUB's `grub.cfg-01-<mac>` form. */
export function grubHostConfigName(mac: string): string {
  return `grub.cfg-01-${hyphenMac(mac)}`;
}

/** One word for GRUB's shell: single-quoted, a `'` written as `'\''` (GRUB manual §6.3 "Quoting"). */
export function grubQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function grubChainConfig(): string {
  return `# Kickstand: every network GRUB reads this file ($prefix/grub.cfg) and is handed
# over to its own machine's config, named by the MAC of the interface it booted from.
# Debian's GRUB 2.06 does not look for grub.cfg-01-<mac> by itself (docs/firmware.md).
set timeout=0
echo "Kickstand: GRUB on $net_default_mac ($net_default_ip), loading its config"
configfile $prefix/grub.cfg-01-$net_default_mac
echo "Kickstand: no config for $net_default_mac, back to the firmware"
sleep 5
exit
`;
}

export interface GrubInstallInput {
  host: string;
  profile: string;
  /** The MAC this config was requested for (dracut BOOTIF picks that interface). */
  mac: string;
  /** Kernel and initrd paths under the TFTP root (images/). */
  kernelPath: string;
  initrdPath: string;
  kickstartUrl: string;
  installTree: string;
  kernelArgs: string;
}

export function grubInstallConfig(i: GrubInstallInput): string {
  const args = [
    `inst.ks=${i.kickstartUrl}`,
    `inst.repo=${i.installTree}`,
    'inst.nosave=all', // no copy of the kickstart (root hash, token) on the installed system (K08)
    'ip=dhcp',
    `BOOTIF=01-${hyphenMac(i.mac)}`,
    ...i.kernelArgs.trim().split(/\s+/),
  ].filter((a) => a !== '');
  const path = (p: string): string => grubQuote(`/${p.replace(/^\/+/, '')}`);
  return `# Kickstand: ${i.host} is armed: install profile ${i.profile}.
# One-shot: once the kickstart has been fetched, the next network boot of this machine
# boots its local disk until it is armed again.
echo ${grubQuote(`Kickstand: installing ${i.host} (profile ${i.profile})`)}
linux ${path(i.kernelPath)} ${args.map(grubQuote).join(' ')}
initrd ${path(i.initrdPath)}
boot
echo ${grubQuote(`Kickstand: could not load the installer for ${i.host}, back to the firmware`)}
sleep 10
exit
`;
}

/** A registered host that is not armed (`reason` is our text, e.g. its state). */
export function grubLocalConfig(host: string, reason: string): string {
  return `# Kickstand: ${host} is not armed for install (${reason}): back to the firmware.
# To reinstall: kickstand host set ${host} --netboot
echo ${grubQuote(`Kickstand: ${host}: ${reason}, booting the local disk`)}
exit
`;
}

/** An unknown machine: recorded as discovered; say how to register it, then back to the firmware. */
export function grubDiscoveredConfig(mac: string): string {
  return `# Kickstand: ${mac} is not a registered host: back to the firmware.
echo ${grubQuote(`Kickstand: this machine (${mac}) is not registered. To install it:`)}
echo ${grubQuote(`  kickstand host add NAME --mac ${mac} --profile PROFILE`)}
exit
`;
}

/** A config that explains why this host cannot boot this way (a profile problem the operator fixes). */
export function grubErrorConfig(host: string, problem: string): string {
  return `# Kickstand: ${host}: ${problem}
echo ${grubQuote(`Kickstand: ${host}: ${problem}`)}
sleep 10
exit
`;
}
