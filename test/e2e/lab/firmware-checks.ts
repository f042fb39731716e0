/**
 * @module test/e2e/lab/firmware-checks
 * The firmware lab's own checks (docs/firmware.md), beside checkInstalled and checkStray:
 *  - a Secure Boot machine: the kernel says Secure Boot was on (`secureboot: Secure boot
 *    enabled`, arch/x86/kernel/setup.c, printed from the firmware's SecureBoot variable), and it
 *    got there through the signed chain Kickstand served over TFTP: shim, the network GRUB,
 *    Kickstand's GRUB configs (chain and per-host), kernel and initrd;
 *  - a machine offered the unsigned ipxe.efi on the same firmware: OVMF downloaded it and
 *    refused to run it (`Access Denied`), and no iPXE ever started;
 *  - the arm64 machine: AAVMF took the loader Kickstand chose for arch 11 (shimaa64.efi), the
 *    arm64 chain came over TFTP, Debian's arm64 kernel printed its banner and the stand-in
 *    ran on aarch64 (`uname -m`);
 *  - a UEFI HTTP Boot machine: Kickstand decided `http-boot` for its firmware's DHCP, the
 *    firmware fetched ipxe.efi over HTTP, and nothing went over TFTP.
 */
import type { HostEvent } from '../../../src/model/event';
import { bootLines, type Check, type MachineRecord } from './checks';
import { dataText } from './timeline';

export const SECURE_BOOT_ON = /secureboot: Secure boot enabled/;
/** OVMF's words when its image verification refuses a loader (EFI_ACCESS_DENIED / EFI_SECURITY_VIOLATION). */
export const REFUSED = /BdsDxe: failed to load Boot\d+ .*: (Access Denied|Security Violation)/;

/**
 * The files the signed chain fetches over TFTP, in order (docs/firmware.md "Secure Boot"; on
 * arm64 the loaders' names end in aa64 and the profile's kernel and initrd are lab/arm64/…).
 */
function chainFiles(arm64: boolean): Array<[string, RegExp]> {
  const arch = arm64 ? 'aa64' : 'x64';
  const dir = arm64 ? 'lab\\/arm64' : 'lab';
  return [
    ['shim', new RegExp(`^shim${arch}\\.efi$`)],
    ['signed GRUB', new RegExp(`^grub${arch}\\.efi$`)],
    ['GRUB chain config', /^\/?grub\/grub\.cfg$/],
    ['GRUB host config', /^\/?grub\/grub\.cfg-01-/],
    ['kernel', new RegExp(`(^|/)${dir}\\/vmlinuz$`)],
    ['initrd', new RegExp(`(^|/)${dir}\\/initrd\\.img$`)],
  ];
}

/** The arm64 kernel's banner (init/version.c) and the stand-in's `uname -r` / `uname -m` line. */
export const ARM64_KERNEL = /Linux version \S+-arm64 /;
export const ARM64_STANDIN = /^standin: started, kernel \S+-arm64 aarch64$/;

export function checkFirmware(r: MachineRecord, all: HostEvent[]): Check[] {
  const m = r.def;
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const boot1 = bootLines(r.console, 1);
  if (m.secureBoot) {
    const on = boot1.find((l) => SECURE_BOOT_ON.test(l));
    add('Secure Boot on', on !== undefined, on ?? 'the kernel did not say "secureboot: Secure boot enabled"');
  }
  if (m.kind === 'arm64') {
    const nbp = boot1.find((l) => /NBP filename is shimaa64\.efi/.test(l));
    const banner = boot1.find((l) => ARM64_KERNEL.test(l));
    const standin = boot1.find((l) => ARM64_STANDIN.test(l));
    add(
      'arm64',
      nbp !== undefined && banner !== undefined && standin !== undefined,
      [
        nbp ? `AAVMF: ${nbp.trim()}` : 'AAVMF did not take shimaa64.efi',
        banner ? banner.replace(/^.*Linux version/, 'Linux version').slice(0, 60) : 'no arm64 kernel banner',
        standin ?? 'the stand-in did not run on aarch64',
      ].join('; '),
    );
  }
  if (m.grub) {
    const boot2 = r.bootStartIds[1] ?? Number.MAX_SAFE_INTEGER;
    const got = all
      .filter((e) => e.mac === m.mac && e.kind === 'tftp.done' && e.id < boot2)
      .map((e) => dataText(e.data.path));
    const missing = chainFiles(m.kind === 'arm64')
      .filter(([, re]) => !got.some((p) => re.test(p)))
      .map(([what]) => what);
    add(
      'signed chain',
      missing.length === 0,
      missing.length
        ? `not fetched over TFTP: ${missing.join(', ')} (got ${got.join(', ') || 'nothing'})`
        : got.join(' → '),
    );
  }
  if (m.httpBoot) {
    // UEFI 2.5 §24.7: vendor class HTTPClient, arch 16; the answer echoes HTTPClient and names a URL.
    const boot2 = r.bootStartIds[1] ?? Number.MAX_SAFE_INTEGER;
    const first = all.filter((e) => e.mac === m.mac && e.id < boot2);
    const offer = first.find((e) => (e.kind === 'dhcp.offer' || e.kind === 'dhcp.ack') && e.data.boot === 'http-boot');
    const loader = first.find((e) => e.kind === 'http.asset' && /ipxe\.efi$/.test(dataText(e.data.path)));
    const tftp = first.filter((e) => e.kind.startsWith('tftp.'));
    const start = boot1.find((l) => /Start HTTP Boot over IPv4/.test(l));
    const pxe = boot1.find((l) => /Start PXE over IPv4/.test(l));
    add(
      'HTTP boot',
      offer !== undefined && loader !== undefined && tftp.length === 0 && start !== undefined && pxe === undefined,
      [
        offer ? `${offer.kind}: ${offer.message} (boot: http-boot)` : 'no dhcp answer deciding http-boot',
        loader ? `loader over HTTP: ${dataText(loader.data.path)}` : 'ipxe.efi not fetched over HTTP',
        tftp.length ? `TFTP used: ${tftp.map((e) => dataText(e.data.path)).join(', ')}` : 'no TFTP',
        start ? 'OVMF: Start HTTP Boot over IPv4' : 'OVMF did not start HTTP Boot',
        ...(pxe ? ['OVMF ran PXE first'] : []),
      ].join('; '),
    );
  }
  if (m.refusesUnsigned) {
    const nbp = boot1.find((l) => /NBP filename is ipxe\.efi/.test(l));
    const refused = boot1.find((l) => REFUSED.test(l));
    const ipxe = boot1.find((l) => /^iPXE \d|iPXE initialising/.test(l));
    add(
      'unsigned refused',
      nbp !== undefined && refused !== undefined && ipxe === undefined,
      ipxe
        ? `iPXE ran on Secure Boot firmware: ${ipxe}`
        : refused && nbp
          ? `${nbp.trim()}; ${refused.replace(/ from .*:/, ':')}`
          : `no refusal of ipxe.efi on the console (${nbp ? 'downloaded' : 'not downloaded'})`,
    );
  }
  return c;
}
