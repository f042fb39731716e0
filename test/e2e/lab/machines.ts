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
}

export const MACHINES: MachineDef[] = [
  { name: 'bios', kind: 'bios', mac: '52:54:00:6b:73:01', registered: true, firmware: 'SeaBIOS + iPXE NIC ROM (e1000)', reimage: true },
  { name: 'uefi', kind: 'uefi', mac: '52:54:00:6b:73:02', registered: true, firmware: 'OVMF + iPXE EFI ROM (e1000)' },
  { name: 'stray', kind: 'uefi-pxe', mac: '52:54:00:6b:73:03', registered: false, firmware: 'OVMF UEFI PXE (virtio-net, no ROM)' },
];

/** Per-step time bounds (TCG on 2 cores, all machines at once). Bounds, not performance checks. */
export const LIMITS = {
  installBootMs: 330_000,
  localBootMs: 150_000,
  strayMs: 170_000,
  /** Whole lab (the runner gives up and cleans up after this). */
  labMs: 600_000,
};
