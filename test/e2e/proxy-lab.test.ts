/**
 * proxyDHCP with real firmware (test/e2e/lab/, docs/lab.md, docs/dhcp.md "proxyDHCP and real
 * iPXE"): dnsmasq leases every address on the lab segment, Kickstand runs in proxy mode, and
 * real iPXE — the SeaBIOS ROM and the OVMF EFI ROM — must take Kickstand's proxy answers, install
 * and then boot local. `sudo npm run lab -- --proxy` runs the same scenario live.
 */
import { labSuite } from './lab/suite';

labSuite(
  'proxy',
  'proxy lab: real iPXE boots through Kickstand proxyDHCP beside dnsmasq',
  {
    pbios:
      'SeaBIOS + iPXE ROM: address from dnsmasq, boot from Kickstand proxy (67 + 4011) → installed; second boot local',
    puefi: 'OVMF + iPXE EFI ROM: the same as an EFI machine',
    lab: 'native fast paths served the firmware; DHCP warmed up before port 67 opened',
  },
  ['dnsmasq'],
);
