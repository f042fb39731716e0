/**
 * Firmware paths beyond iPXE with real firmware (test/e2e/lab/, docs/firmware.md): OVMF with
 * Secure Boot enforced and Microsoft's keys enrolled boots shim → Debian's signed network GRUB →
 * Kickstand's GRUB configs over TFTP → Debian's signed kernel → the installer stand-in
 * (not anaconda) → installed → local; the same firmware refuses the unsigned ipxe.efi; and
 * OVMF's UEFI HTTP Boot fetches ipxe.efi by URL (no TFTP) and installs; and an arm64 machine
 * (qemu-system-aarch64, AAVMF, Secure Boot off) boots Debian's arm64 shim → GRUB → Kickstand's
 * GRUB configs → Debian's arm64 kernel → the arm64 installer stand-in → installed → local.
 * `sudo npm run lab -- --firmware` runs the same scenario live.
 */
import { labSuite } from './lab/suite';

labSuite(
  'firmware',
  'firmware lab: Secure Boot through shim and signed GRUB, unsigned iPXE refused, UEFI HTTP Boot, ARM64',
  {
    sb: 'OVMF Secure Boot (MS keys) PXE → shim → signed GRUB → Kickstand GRUB config → signed kernel → installed; kernel says Secure Boot on; second boot local',
    http: 'OVMF UEFI HTTP Boot (HTTPClient, arch 16, PXE off): ipxe.efi by URL, no TFTP → iPXE → installed; second boot local',
    sbipxe: 'OVMF Secure Boot PXE offered the unsigned ipxe.efi: firmware refuses it (Access Denied), never installed',
    arm: 'AAVMF arm64 UEFI PXE (arch 11) → shimaa64 → grubaa64 → Kickstand GRUB config → Debian arm64 kernel → arm64 stand-in → installed; second boot local',
    lab: 'native fast paths served the firmware; DHCP warmed up before port 67 opened',
  },
  ['qemu-system-aarch64', 'readelf', 'depmod'],
);
