/**
 * End-to-end journey lab (test/e2e/lab/, docs/lab.md "The journey lab"): real firmware boots
 * through Kickstand onto a disk; the installer stand-in writes a real Debian 12 (mmdebstrap)
 * with GRUB for its firmware and runs %post chrooted into it; the second power-on boots that
 * Debian from the disk, which leases its address from Kickstand and serves, over SSH, exactly
 * the host key %post reported. The same runner as `sudo npm run lab -- --journey`.
 */
import { labSuite } from './lab/suite';
import { DISK_TOOLS } from './lab/assets';

labSuite(
  'journey',
  'journey lab: real firmware → Kickstand → a real Debian 12 on disk, booted and serving SSH',
  {
    jbios:
      'SeaBIOS + iPXE ROM: install onto a virtio disk (GPT, GRUB i386-pc) → second boot: local script → GRUB → Debian 12 up, DHCP from Kickstand, sshd serves the pinned key',
    juefi:
      'OVMF PXE → ipxe.efi: install onto a virtio disk (GPT, ESP, GRUB x86_64-efi removable path) → second boot: PXE declined → OVMF boots the disk → Debian 12 up, DHCP, sshd serves the pinned key',
    lab: 'native fast paths served the firmware; DHCP warmed up before port 67 opened',
  },
  ['mmdebstrap', 'ssh-keyscan', ...DISK_TOOLS],
);
