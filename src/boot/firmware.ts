/**
 * @module boot/firmware
 * What a network-booting machine is, independent of the protocol that told us: the
 * {@link BootClient} facts (built by dhcp/pxe.ts from DHCP options, and by HTTP from iPXE
 * settings) and the firmware family derived from the RFC 4578 §2.1 client architecture.
 */

/** Firmware families Kickstand has a loader for. */
export type Firmware = 'bios' | 'uefi-ia32' | 'uefi-x64' | 'uefi-arm32' | 'uefi-arm64' | 'unknown';

/** Facts about a booting client. No DHCP types: the HTTP service builds these too. */
export interface BootClient {
  /** Canonical MAC. */
  mac: string;
  /** RFC 4578 §2.1 client system architecture (option 93, or the `Arch:` field of option 60). */
  arch: number | undefined;
  firmware: Firmware;
  /** Option 60 starts with `PXEClient` (PXE 2.1 §2.2.5). */
  pxe: boolean;
  /** Option 60 starts with `HTTPClient`, or arch is an HTTP-boot type (UEFI 2.5 §24.7). */
  httpBoot: boolean;
  /** iPXE is already running (user class `iPXE`, or option 175 present): hand it the script. */
  ipxe: boolean;
  /** Option 60 as text, bounded, for logs only. */
  vendorClass: string | undefined;
  /** Option 77 classes as text, bounded, for logs only. */
  userClass: string[];
  /** Option 97 UUID/GUID (RFC 4578 §2.3) as hex, without the type octet. */
  uuid: string | undefined;
}

/**
 * IANA "Processor Architecture Types" (RFC 4578 §2.1 and later registrations) →
 * firmware family. 7 is "EFI BC" but every x64 UEFI ROM sends it (it was meant to be x64).
 */
const ARCH_FIRMWARE: Record<number, Firmware> = {
  0: 'bios',
  6: 'uefi-ia32',
  7: 'uefi-x64',
  9: 'uefi-x64',
  10: 'uefi-arm32',
  11: 'uefi-arm64',
  15: 'uefi-ia32', // x86 UEFI HTTP boot
  16: 'uefi-x64', // x64 UEFI HTTP boot
  18: 'uefi-arm32', // ARM32 UEFI HTTP boot
  19: 'uefi-arm64', // ARM64 UEFI HTTP boot
};

/** The HTTP-boot architecture types (UEFI 2.5+ HTTP boot, IANA 15/16/18/19). */
export const HTTP_BOOT_ARCHES: ReadonlySet<number> = new Set([15, 16, 18, 19]);

/**
 * Firmware family for an architecture. A PXE client that sends no option 93 is an old BIOS
 * ROM (RFC 4578 predates some of them; danderson/pixiecore#21): treat as BIOS.
 */
export function firmwareFor(arch: number | undefined): Firmware {
  if (arch === undefined) return 'bios';
  return ARCH_FIRMWARE[arch] ?? 'unknown';
}
