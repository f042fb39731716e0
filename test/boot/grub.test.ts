import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  grubChainConfig,
  grubDiscoveredConfig,
  grubHostConfigName,
  grubInstallConfig,
  grubLocalConfig,
  grubQuote,
} from '../../src/boot/grub';

const input = {
  host: 'sb1',
  profile: 'labsb',
  mac: '52:54:00:6b:76:01',
  kernelPath: 'lab/vmlinuz',
  initrdPath: '/lab/initrd.img',
  kickstartUrl: 'http://198.18.0.1:8080/ks/TOKEN',
  installTree: 'http://198.18.0.1:8080/images/lab/tree',
  kernelArgs: ' console=ttyS0,115200n8  panic=1 ',
};

describe('boot/grub: the Secure Boot chain configs', () => {
  it('the chain config loads $prefix/grub.cfg-01-$net_default_mac, then gives up to the firmware', () => {
    const t = grubChainConfig();
    assert.match(t, /^configfile \$prefix\/grub\.cfg-01-\$net_default_mac$/m);
    assert.match(t, /^exit$/m);
  });

  it('per-host config name is upstream GRUB form grub.cfg-01-<mac with dashes>', () => {
    assert.equal(grubHostConfigName('52:54:00:6b:76:01'), 'grub.cfg-01-52-54-00-6b-76-01');
  });

  it('install: linux + initrd from the TFTP root (leading / once), quoted args, inst.ks with the token URL', () => {
    const t = grubInstallConfig(input);
    const linux = t.split('\n').find((l) => l.startsWith('linux '))!;
    assert.equal(
      linux,
      "linux '/lab/vmlinuz' 'inst.ks=http://198.18.0.1:8080/ks/TOKEN' 'inst.repo=http://198.18.0.1:8080/images/lab/tree' 'inst.nosave=all' 'ip=dhcp' 'BOOTIF=01-52-54-00-6b-76-01' 'console=ttyS0,115200n8' 'panic=1'",
    );
    assert.match(t, /^initrd '\/lab\/initrd\.img'$/m);
    assert.match(t, /^boot$/m);
    assert.ok(!t.includes('initrd=initrd.img'), 'no EFI-stub initrd= argument: GRUB loads the initrd itself');
  });

  it("quotes what GRUB's shell would expand or split ($, ;, ')", () => {
    assert.equal(grubQuote("a$b;c'd"), `'a$b;c'\\''d'`);
    const t = grubInstallConfig({ ...input, kernelArgs: 'x=$root;reboot' });
    assert.match(t, / 'x=\$root;reboot'$/m);
  });

  it('local and discovered configs return to the firmware and say why', () => {
    const l = grubLocalConfig('sb1', 'state installed, netboot off');
    assert.match(l, /booting the local disk/);
    assert.match(l, /^exit$/m);
    const d = grubDiscoveredConfig('52:54:00:6b:76:09');
    assert.match(d, /kickstand host add NAME --mac 52:54:00:6b:76:09/);
    assert.match(d, /^exit$/m);
  });
});
