/**
 * End-to-end PXE lab (test/e2e/lab/, docs/lab.md): real firmware in QEMU boots through
 * Kickstand alone — DHCP, TFTP, HTTP, one-time kickstart, %pre/%post callbacks, local boot
 * afterwards, an unregistered machine only discovered. The same runner as `sudo npm run lab`.
 */
import { labSuite } from './lab/suite';

labSuite(
  'pxe',
  'PXE lab: real firmware boots through Kickstand alone',
  {
    bios: 'SeaBIOS + iPXE ROM: DHCP → iPXE script → kernel + initrd → kickstart → %pre → install tree → %post → installed; second boot local; reimage → exactly one reinstall, then local',
    uefi: 'OVMF UEFI PXE → TFTP ipxe.efi → iPXE: the same flow as an EFI machine, one address across both DHCP exchanges; second boot local',
    stray: 'unregistered OVMF PXE machine: DHCP → TFTP loader → iPXE → discovered, never installed',
    rbios:
      'SeaBIOS + iPXE ROM on a second segment behind ISC dhcrelay -a: relayed scope chosen by giaddr, option 82 reaches Kickstand and is echoed → installed; second boot local',
    lab: 'native fast paths served the firmware; DHCP warmed up before port 67 opened',
  },
  ['dhcrelay', 'tcpdump'],
);
