/**
 * @module boot/ipxe
 * The text of the iPXE scripts Kickstand serves (pure: strings in, script out).
 *  - {@link chainScript} (`/boot.ipxe`, what DHCP hands iPXE): chains to the per-machine
 *    script by the MAC of the interface that booted (`${netX/mac}`), retrying DHCP and the
 *    chain a bounded number of times (poseidon/matchbox#369, #415), then boots the local disk.
 *  - {@link installScript}: an armed host — kernel + initrd over HTTP, `inst.ks=` with the
 *    one-time kickstart URL, `inst.repo=`.
 *  - {@link localBootScript}: anything else — boot the local disk, never reinstall. BIOS:
 *    `sanboot --no-describe --drive 0x80` (first hard disk); UEFI: `exit`, which returns to the
 *    firmware so it tries its next boot option. iPXE's `${platform}` (`pcbios` / `efi`) says
 *    which, so one script serves both.
 *  - {@link discoveredScript}: an unknown MAC — say how to register it, then boot local disk.
 * Interpolated values are ours (URLs we built, RFC 1123 host names, canonical MACs) or the
 * operator's profile kernel arguments; nothing comes from the requesting machine.
 */

export const CHAIN_TRIES = 5;

/** `aa:bb:cc:dd:ee:ff` → `aa-bb-cc-dd-ee-ff` (`${netX/mac:hexhyp}`, dracut's BOOTIF form). */
export function hyphenMac(mac: string): string {
  return mac.replace(/:/g, '-');
}

export function chainScript(publicUrl: string): string {
  return `#!ipxe
# Kickstand boot script: every iPXE is pointed here by DHCP. It hands over to this
# machine's own script, chosen by the MAC of the interface that booted.
# The network may come up late (STP, slow links): DHCP and the chain are retried
# ${CHAIN_TRIES} times, then the machine boots its local disk.
set kickstand-try:int32 0
:start
isset \${netX/ip} || goto dhcp
chain --replace --autofree ${publicUrl}/ipxe/\${netX/mac:hexhyp} || goto retry
:dhcp
dhcp && goto start || goto retry
:retry
inc kickstand-try
iseq \${kickstand-try} ${CHAIN_TRIES} && goto local ||
echo Kickstand: no usable answer yet (try \${kickstand-try} of ${CHAIN_TRIES}), retrying
sleep 5 ||
goto dhcp
:local
echo Kickstand: giving up, booting the local disk
${localBootTail()}`;
}

export interface InstallScriptInput {
  host: string;
  profile: string;
  /** The MAC this script was requested for (dracut BOOTIF picks that interface). */
  mac: string;
  kernelUrl: string;
  initrdUrl: string;
  kickstartUrl: string;
  installTree: string;
  /** The profile's extra kernel arguments (operator config). */
  kernelArgs: string;
}

export function installScript(i: InstallScriptInput): string {
  const args = [
    'initrd=initrd.img', // UEFI: the EFI stub loads the initrd named on the command line
    `inst.ks=${i.kickstartUrl}`,
    `inst.repo=${i.installTree}`,
    'inst.nosave=all', // no copy of the kickstart (root hash, token) on the installed system (K08)
    'ip=dhcp',
    `BOOTIF=01-${hyphenMac(i.mac)}`,
    i.kernelArgs.trim(),
  ].filter((a) => a !== '');
  return `#!ipxe
# Kickstand: ${i.host} is armed: install profile ${i.profile}.
# One-shot: once the kickstart has been fetched, the next network boot of this machine
# boots its local disk until it is armed again.
imgfree
echo Kickstand: installing ${i.host} (profile ${i.profile})
kernel --name vmlinuz ${i.kernelUrl} ${args.join(' ')} || goto failed
initrd --name initrd.img ${i.initrdUrl} || goto failed
boot || goto failed
:failed
echo Kickstand: could not load the installer for ${i.host}, booting the local disk
sleep 10 ||
${localBootTail()}`;
}

/** Local boot for a registered host that is not armed (`reason` is our text, e.g. the state). */
export function localBootScript(host: string, reason: string): string {
  return `#!ipxe
# Kickstand: ${host} is not armed for install (${reason}): boot the local disk.
# To reinstall: kickstand host set ${host} --netboot
echo Kickstand: ${host}: ${reason}, booting the local disk
${localBootTail()}`;
}

/** An unknown machine: recorded as discovered; explain how to register it, boot local disk. */
export function discoveredScript(mac: string): string {
  return `#!ipxe
# Kickstand: ${mac} is not a registered host: booting the local disk.
echo Kickstand: this machine (${mac}) is not registered. To install it:
echo   kickstand host add NAME --mac ${mac} --profile PROFILE
${localBootTail()}`;
}

function localBootTail(): string {
  return `iseq \${platform} efi && goto kickstand_exit ||
sanboot --no-describe --drive 0x80 ||
:kickstand_exit
exit
`;
}
