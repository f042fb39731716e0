/**
 * @module test/e2e/lab/prereqs
 * What the lab needs from Debian, and installing what is missing (with apt-get, saying so).
 * Each need is a file or command that proves the package is there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';

export interface Need {
  pkg: string;
  /** Present when one of these paths exists (or, for bare names, is a command on PATH). */
  anyOf: string[];
  why: string;
  /** Only the journey lab needs it. */
  journey?: boolean;
  /** Only the firmware lab needs it. */
  firmware?: boolean;
  /** Only a lab with a relay segment (the pxe lab) needs it. */
  relay?: boolean;
}

export const NEEDS: Need[] = [
  { pkg: 'qemu-system-x86', anyOf: ['qemu-system-x86_64'], why: 'runs the lab machines' },
  {
    pkg: 'ipxe-qemu',
    anyOf: ['/usr/lib/ipxe/qemu/efi-e1000.rom'],
    why: 'iPXE option ROMs (BIOS and EFI) for the NICs',
  },
  {
    pkg: 'ipxe',
    anyOf: ['/usr/lib/ipxe/undionly.kpxe'],
    why: 'iPXE loaders Kickstand serves over TFTP (undionly.kpxe, snponly.efi)',
  },
  {
    pkg: 'ovmf',
    anyOf: ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd'],
    why: 'UEFI firmware for the UEFI machines',
  },
  { pkg: 'busybox-static', anyOf: ['/bin/busybox'], why: 'userland of the installer stand-in initrd' },
  { pkg: 'curl', anyOf: ['curl'], why: 'HTTP client of the installer stand-in' },
  { pkg: 'openssh-client', anyOf: ['ssh-keygen'], why: 'SSH host key the stand-in reports in %post' },
  { pkg: 'cpio', anyOf: ['cpio'], why: 'packs the initrd' },
  { pkg: 'iproute2', anyOf: ['ip'], why: 'namespaces, bridge, taps, veth' },
  {
    pkg: 'isc-dhcp-relay',
    anyOf: ['/usr/sbin/dhcrelay', 'dhcrelay'],
    why: 'the DHCP relay (dhcrelay -a, option 82) in front of the relayed segment',
    relay: true,
  },
  { pkg: 'tcpdump', anyOf: ['/usr/bin/tcpdump', 'tcpdump'], why: 'captures the relay link (option 82)', relay: true },
  {
    pkg: 'mmdebstrap',
    anyOf: ['mmdebstrap'],
    why: 'builds the Debian 12 root filesystem the journey lab installs',
    journey: true,
  },
  { pkg: 'fdisk', anyOf: ['sfdisk'], why: 'the image-writing stand-in partitions the disk (GPT)', journey: true },
  { pkg: 'e2fsprogs', anyOf: ['mkfs.ext4'], why: 'the stand-in makes the root filesystem', journey: true },
  { pkg: 'dosfstools', anyOf: ['mkfs.vfat'], why: 'the stand-in makes the EFI system partition', journey: true },
  { pkg: 'zstd', anyOf: ['zstd'], why: 'compresses the rootfs image; the stand-in unpacks it', journey: true },
  {
    pkg: 'openssh-client',
    anyOf: ['ssh-keyscan'],
    why: 'reads the installed sshd host key from the Kickstand namespace',
    journey: true,
  },
  {
    pkg: 'ovmf',
    anyOf: ['/usr/share/OVMF/OVMF_VARS_4M.ms.fd', '/usr/share/OVMF/OVMF_VARS.ms.fd'],
    why: "OVMF with Secure Boot and Microsoft's keys enrolled",
    firmware: true,
  },
  {
    pkg: 'shim-signed',
    anyOf: ['/usr/lib/shim/shimx64.efi.signed'],
    why: 'the Microsoft-signed shim, first stage of the Secure Boot chain',
    firmware: true,
  },
  {
    pkg: 'qemu-system-arm',
    anyOf: ['qemu-system-aarch64'],
    why: 'runs the arm64 machine (TCG)',
    firmware: true,
  },
  {
    pkg: 'qemu-efi-aarch64',
    anyOf: ['/usr/share/AAVMF/AAVMF_CODE.fd'],
    why: 'AAVMF, the arm64 UEFI firmware',
    firmware: true,
  },
  { pkg: 'binutils', anyOf: ['readelf'], why: "lists the arm64 stand-in's libraries", firmware: true },
  { pkg: 'kmod', anyOf: ['depmod'], why: "modules.dep of Debian's arm64 kernel", firmware: true },
  {
    pkg: 'grub-efi-amd64-signed',
    anyOf: ['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed'],
    why: "Debian's signed network GRUB, which shim loads",
    firmware: true,
  },
];

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function present(n: Need): boolean {
  return n.anyOf.some((p) => (p.startsWith('/') ? existsSync(p) : onPath(p)));
}

/**
 * The Debian kernel version whose image and modules the lab boots: the running kernel's when
 * /boot has its image and /lib/modules its modules, else the newest installed linux-image-*.
 */
export function debianKernel(): string | undefined {
  const running = release();
  if (existsSync(`/boot/vmlinuz-${running}`) && existsSync(`/lib/modules/${running}/modules.dep`)) return running;
  const boot = existsSync('/boot') ? readdirSync('/boot') : [];
  const versions = boot
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(`/lib/modules/${v}/modules.dep`));
  return versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
}

export function missingPackages(journey = false, firmware = false, relay = false): string[] {
  const pkgs = [
    ...new Set(
      NEEDS.filter(
        (n) => (journey || !n.journey) && (firmware || !n.firmware) && (relay || !n.relay) && !present(n),
      ).map((n) => n.pkg),
    ),
  ];
  if (debianKernel() === undefined) pkgs.push('linux-image-amd64');
  return pkgs;
}

/**
 * Installs missing packages from Debian when `install` is true; otherwise throws naming them.
 * `say` tells the user what is happening.
 */
export function ensurePrereqs(
  say: (s: string) => void,
  install: boolean,
  journey = false,
  firmware = false,
  relay = false,
): void {
  const missing = missingPackages(journey, firmware, relay);
  if (missing.length === 0) return;
  if (!install)
    throw new Error(
      `the lab needs these Debian packages: ${missing.join(' ')} (apt-get install -y --no-install-recommends ${missing.join(' ')})`,
    );
  say(`installing what the lab needs from Debian: ${missing.join(', ')}`);
  for (const n of NEEDS.filter((x) => missing.includes(x.pkg))) say(`  ${n.pkg}: ${n.why}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  const still = missingPackages(journey, firmware, relay);
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(' ')}`);
}
