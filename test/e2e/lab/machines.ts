/**
 * @module test/e2e/lab/machines
 * The lab's machines and what each must show. MACs are in QEMU's 52:54:00 block, "6b:73" = "ks".
 */
import type { VmKind } from './vm';

export interface MachineDef {
  name: string;
  kind: VmKind;
  mac: string;
  /** Registered with `kickstand host add` before it boots (false: must only be discovered). */
  registered: boolean;
  firmware: string;
  /**
   * After its local boot, `kickstand host reimage NAME --yes`, then boot 3 must reinstall
   * exactly once and boot 4 must boot local again (the lifecycle issue's immutable rebuild).
   */
  reimage?: boolean;
  /** Firmware PXE chains into iPXE: two DHCP exchanges in the install boot, one address. */
  chain?: boolean;
  /**
   * A virtual disk (the journey lab): the stand-in writes Debian onto it, and the second boot
   * must come up from it: the installed Debian's login banner, its DHCP, its sshd.
   */
  disk?: boolean;
  /** k3s role given at `kickstand host add` (default agent); the journey lab bootstraps it. */
  role?: 'server' | 'agent';
  /** The profile it is registered with (default `lab`; `labsb`: the Secure Boot GRUB chain). */
  profile?: string;
  /** Boots through shim → GRUB → Kickstand's GRUB configs over TFTP (a `loader: grub` profile). */
  grub?: boolean;
  /** Secure Boot on (firmware lab): the kernel's console must say so (firmware-checks.ts). */
  secureBoot?: boolean;
  /** An unsigned loader must be refused by the firmware (firmware-checks.ts). */
  refusesUnsigned?: boolean;
  /** UEFI HTTP Boot: the loader by URL, no TFTP at all (firmware-checks.ts). */
  httpBoot?: boolean;
  /**
   * On the scenario's relay segment (relay.ts): its DHCP goes through ISC `dhcrelay -a` with
   * option 82, Kickstand must choose the relayed scope and echo option 82 (relay-checks.ts).
   */
  relayed?: boolean;
}

/** One lab run: its machines, how Kickstand's DHCP runs, and the lab subnet's third octet. */
export interface Scenario {
  name: 'pxe' | 'proxy' | 'journey' | 'firmware';
  /** Prefix of the run's namespace names (topology.ts; default `ksl`). */
  tagPrefix?: string;
  title: string;
  /** authoritative: Kickstand leases; proxy: a site DHCP server (dnsmasq) leases, Kickstand only boots. */
  dhcpMode: 'authoritative' | 'proxy';
  third: number;
  machines: MachineDef[];
  /** Bounds of this scenario where they differ from LIMITS. */
  limits?: Partial<typeof LIMITS>;
  /**
   * A second segment behind a DHCP relay (relay.ts) for the `relayed` machines: the third
   * octets of its subnet (198.18.<third>.0/24, Kickstand's `dhcp.relayed` scope) and of the
   * link between the relay and Kickstand.
   */
  relay?: { third: number; transit: number };
}

export const MACHINES: MachineDef[] = [
  {
    name: 'bios',
    kind: 'bios',
    mac: '52:54:00:6b:73:01',
    registered: true,
    firmware: 'SeaBIOS + iPXE NIC ROM (e1000)',
    reimage: true,
  },
  // The most common path on real racks: the firmware's own PXE (no iPXE ROM) fetches ipxe.efi
  // over TFTP, and that iPXE runs DHCP again with option 61 = 01:<MAC>. It must keep ONE address
  // across both exchanges (checks.ts "one address"; docs/dhcp.md "PXE ROM → iPXE: one client").
  {
    name: 'uefi',
    kind: 'uefi-pxe',
    mac: '52:54:00:6b:73:02',
    registered: true,
    firmware: 'OVMF UEFI PXE → ipxe.efi (virtio-net)',
    chain: true,
  },
  {
    name: 'stray',
    kind: 'uefi-pxe',
    mac: '52:54:00:6b:73:03',
    registered: false,
    firmware: 'OVMF UEFI PXE (virtio-net, no ROM)',
  },
  // Behind a relay (docs/firmware.md): a segment of its own, DHCP through ISC dhcrelay -a
  // (option 82), Kickstand picks the relayed subnet by giaddr and echoes option 82.
  {
    name: 'rbios',
    kind: 'bios',
    mac: '52:54:00:6b:73:04',
    registered: true,
    firmware: 'SeaBIOS + iPXE ROM (e1000), via dhcrelay -a',
    relayed: true,
  },
];

/**
 * proxyDHCP beside a site DHCP server with real iPXE (docs/dhcp.md "proxyDHCP and real iPXE"):
 * dnsmasq hands out every address, Kickstand in proxy mode answers on 67 and 4011 with boot
 * information only. Both iPXE builds (BIOS ROM and EFI ROM) must install and then boot local.
 */
export const PROXY_MACHINES: MachineDef[] = [
  {
    name: 'pbios',
    kind: 'bios',
    mac: '52:54:00:6b:74:01',
    registered: true,
    firmware: 'SeaBIOS + iPXE NIC ROM (e1000)',
  },
  { name: 'puefi', kind: 'uefi', mac: '52:54:00:6b:74:02', registered: true, firmware: 'OVMF + iPXE EFI ROM (e1000)' },
];

/**
 * The whole journey (docs/lab.md "The journey lab"): each machine has a disk; the stand-in
 * writes a real Debian 12 onto it; the second power-on boots that Debian from the disk, which
 * takes its address from Kickstand and serves the SSH host key its %post reported.
 */
/**
 * Then Kickstand bootstraps both by itself (WireGuard mesh, k3s from the imported bundle — a
 * stand-in, journey-k3s.ts), and jbios is rebuilt with `kickstand host reimage` and rejoins.
 */
export const JOURNEY_MACHINES: MachineDef[] = [
  {
    name: 'jbios',
    kind: 'bios',
    mac: '52:54:00:6b:75:01',
    registered: true,
    firmware: 'SeaBIOS + iPXE NIC ROM (e1000), virtio disk',
    disk: true,
    role: 'agent',
    // the immutable rebuild of a worker: reimage → reinstall → rejoin with new keys
    reimage: true,
  },
  {
    name: 'juefi',
    kind: 'uefi-pxe',
    mac: '52:54:00:6b:75:02',
    registered: true,
    firmware: 'OVMF UEFI PXE → ipxe.efi (virtio-net), virtio disk',
    chain: true,
    disk: true,
    role: 'server',
  },
];

/**
 * Real firmware paths beside iPXE (docs/firmware.md): OVMF with Secure Boot enforced and
 * Microsoft's keys enrolled, booting shim → Debian's signed network GRUB → Kickstand's GRUB
 * config → Debian's signed kernel → the stand-in; and the same firmware refusing the unsigned
 * ipxe.efi that Kickstand offers a machine without a GRUB profile.
 */
export const FIRMWARE_MACHINES: MachineDef[] = [
  {
    name: 'sb',
    kind: 'uefi-sb',
    mac: '52:54:00:6b:76:01',
    registered: true,
    firmware: 'OVMF Secure Boot (MS keys) PXE → shim → GRUB',
    profile: 'labsb',
    grub: true,
    secureBoot: true,
  },
  // ARM64 (docs/firmware.md "ARM64"): AAVMF's PXE (arch 11) → shimaa64 → grubaa64 → Debian's
  // arm64 kernel → the arm64 stand-in. Secure Boot off (AAVMF_CODE.fd). TCG emulates aarch64.
  {
    name: 'arm',
    kind: 'arm64',
    mac: '52:54:00:6b:76:04',
    registered: true,
    firmware: 'AAVMF arm64 PXE → shimaa64 → GRUB',
    profile: 'labarm',
    grub: true,
  },
  {
    name: 'http',
    kind: 'uefi-http',
    mac: '52:54:00:6b:76:03',
    registered: true,
    firmware: 'OVMF UEFI HTTP Boot → ipxe.efi over HTTP',
    httpBoot: true,
  },
  {
    name: 'sbipxe',
    kind: 'uefi-sb',
    mac: '52:54:00:6b:76:02',
    registered: false,
    firmware: 'OVMF Secure Boot (MS keys) PXE → ipxe.efi',
    refusesUnsigned: true,
  },
];

export const SCENARIOS: Record<Scenario['name'], Scenario> = {
  pxe: {
    name: 'pxe',
    title: 'Kickstand alone: authoritative DHCP, TFTP, HTTP',
    dhcpMode: 'authoritative',
    third: 77,
    machines: MACHINES,
    relay: { third: 81, transit: 82 },
  },
  proxy: {
    name: 'proxy',
    title: 'proxyDHCP beside dnsmasq (dnsmasq leases, Kickstand boots)',
    dhcpMode: 'proxy',
    third: 78,
    machines: PROXY_MACHINES,
  },
  journey: {
    name: 'journey',
    title: 'Kickstand alone, onto disks: a real Debian 12 installed, booted from disk, serving SSH',
    dhcpMode: 'authoritative',
    third: 79,
    machines: JOURNEY_MACHINES,
    // Installing writes ~100 MiB of image and GRUB under TCG; the second boot runs the
    // firmware, GRUB, the Debian kernel and systemd up to sshd; then the bootstrap, and jbios
    // does all of it a second time (reimage).
    // Bounds, not performance checks: generous enough for a loaded 2-core machine (the rootfs
    // extraction alone has taken 250 s at load average 18).
    limits: { installBootMs: 900_000, localBootMs: 600_000, bootstrapMs: 600_000, labMs: 2_700_000 },
  },
  firmware: {
    name: 'firmware',
    title:
      'Kickstand alone, to firmware with Secure Boot enforced (shim → signed GRUB → signed kernel), UEFI HTTP Boot and arm64 (AAVMF)',
    dhcpMode: 'authoritative',
    third: 80,
    tagPrefix: 'ksf',
    machines: FIRMWARE_MACHINES,
    // OVMF's PXE takes about 140 s to give up on an offer without a boot file (sb's second
    // boot); on a loaded 2-core machine the whole run took up to 493 s. The arm64 machine is
    // emulated aarch64 (TCG): its install boot took 205 s at load average 12. At load average
    // 20 a second boot of OVMF took more than 150 s to give up on PXE or HTTP.
    limits: { installBootMs: 480_000, localBootMs: 300_000, labMs: 900_000 },
  },
};

/** Per-step time bounds (TCG on 2 cores, all machines at once). Bounds, not performance checks. */
export const LIMITS = {
  installBootMs: 330_000,
  localBootMs: 150_000,
  strayMs: 170_000,
  /** Journey lab: from sshd answering to Kickstand's bootstrap making the host `ready`. */
  bootstrapMs: 300_000,
  /** Whole lab (the runner gives up and cleans up after this). */
  labMs: 600_000,
};
