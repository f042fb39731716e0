/**
 * iPXE script text: golden files for the chain script, an armed host's install script, the
 * local-boot and discovered scripts; plus the rules they must keep.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chainScript, discoveredScript, installScript, localBootScript } from '../../src/boot/ipxe';
import { matchGolden } from '../render/golden';

const BASE = 'http://198.18.0.1:8080';
const TOKEN = 'T0k3n_fixture-0123456789abcdefghijklmnopqrs';

describe('iPXE scripts', () => {
  it('boot.ipxe chains by MAC with bounded DHCP/chain retries, then local boot', () => {
    const s = chainScript(BASE);
    matchGolden('boot.ipxe', s);
    assert.ok(s.startsWith('#!ipxe\n'));
    assert.ok(s.includes(`chain --replace --autofree ${BASE}/ipxe/\${netX/mac:hexhyp} || goto retry`));
    assert.ok(s.includes('iseq ${kickstand-try} 5 && goto local ||'));
  });

  it('install script: kernel + initrd over HTTP, one-time inst.ks, inst.repo', () => {
    const s = installScript({
      host: 'node1',
      profile: 'rocky9',
      mac: '52:54:00:12:34:56',
      kernelUrl: `${BASE}/images/rocky9/vmlinuz`,
      initrdUrl: `${BASE}/images/rocky9/initrd.img`,
      kickstartUrl: `${BASE}/ks/${TOKEN}`,
      installTree: `${BASE}/images/rocky9/tree`,
      kernelArgs: 'console=ttyS0,115200n8 ',
    });
    matchGolden('install.ipxe', s);
    assert.match(
      s,
      new RegExp(
        `^kernel --name vmlinuz ${BASE}/images/rocky9/vmlinuz initrd=initrd.img inst.ks=${BASE}/ks/${TOKEN} inst.repo=${BASE}/images/rocky9/tree inst.nosave=all ip=dhcp BOOTIF=01-52-54-00-12-34-56 console=ttyS0,115200n8 \\|\\| goto failed$`,
        'm',
      ),
    );
    assert.match(
      s,
      /^initrd --name initrd.img http:\/\/198\.18\.0\.1:8080\/images\/rocky9\/initrd\.img \|\| goto failed$/m,
    );
  });

  it('local boot: sanboot the first disk on BIOS, exit to the firmware on UEFI', () => {
    const s = localBootScript('node1', 'state installed, netboot off');
    matchGolden('local.ipxe', s);
    assert.ok(
      s.includes(
        'iseq ${platform} efi && goto kickstand_exit ||\nsanboot --no-describe --drive 0x80 ||\n:kickstand_exit\nexit\n',
      ),
    );
    assert.ok(!s.includes('kernel'));
  });

  it('discovered: tells how to register, boots local', () => {
    const s = discoveredScript('52:54:00:99:99:99');
    matchGolden('discovered.ipxe', s);
    assert.ok(s.includes('kickstand host add NAME --mac 52:54:00:99:99:99 --profile PROFILE'));
    assert.ok(s.endsWith('exit\n'));
  });
});
