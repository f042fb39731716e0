/**
 * End-to-end journey lab (test/e2e/lab/, docs/lab.md "The journey lab"): real firmware boots
 * through Kickstand onto a disk; the installer stand-in writes a real Debian 12 (mmdebstrap)
 * with GRUB for its firmware and runs %post chrooted into it; the second power-on boots that
 * Debian from the disk, which leases its address from Kickstand and serves, over SSH, exactly
 * the host key %post reported; Kickstand then bootstraps both by itself (kernel WireGuard mesh,
 * k3s from an imported STAND-IN bundle) and one is rebuilt with `kickstand host reimage` and
 * rejoins with new keys. The same runner as `sudo npm run lab -- --journey`.
 */
import { labSuite } from './lab/suite';
import { DISK_TOOLS } from './lab/assets';

labSuite(
  'journey',
  'journey lab: real firmware → Kickstand → a real Debian 12 on disk, booted and serving SSH',
  {
    jbios:
      'SeaBIOS + iPXE ROM, k3s agent: install onto a virtio disk (GPT, GRUB i386-pc) → local script → GRUB → Debian 12 up, DHCP from Kickstand, sshd serves the pinned key → Kickstand bootstraps it (kernel WireGuard mesh, k3s stand-in agent joins over the mesh) → reimage: reinstall, new host key pinned (old refused), rejoins with a new WireGuard key',
    juefi:
      'OVMF PXE → ipxe.efi, k3s server: install onto a virtio disk (GPT, ESP, GRUB x86_64-efi removable path) → PXE declined → OVMF boots the disk → Debian 12 up, DHCP, sshd serves the pinned key → bootstrapped (mesh, k3s stand-in server on its mesh address) → drops jbios’s old key at the reimage',
    lab: 'native fast paths served the firmware; DHCP warmed up before port 67 opened',
  },
  ['mmdebstrap', 'ssh-keyscan', 'ssh', ...DISK_TOOLS],
);
