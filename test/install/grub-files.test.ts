/**
 * The Secure Boot chain's GRUB configs over TFTP (install/grub-files.ts) through the daemon's
 * own wiring (buildInstallFlow's tftpHandler): the chain config, the per-host config with the
 * same decision as the iPXE script, the one-time token only for the host's own address, and
 * every other name handed to the files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, KickstandError } from '../../src/errors';
import type { TftpContent, TftpHandler } from '../../src/tftp/types';
import { eventsOf, installConfig, startHarness, type Harness } from './harness';

const text = (c: TftpContent): string => ('buffer' in c ? c.buffer.toString('utf8') : '');
const from = (address: string) => ({ address, port: 1000, localAddress: '127.0.0.254' });

describe('GRUB configs over TFTP (the Secure Boot chain)', () => {
  let h: Harness;
  let tftp: TftpHandler;
  const passed: string[] = [];
  before(async () => {
    const base = installConfig();
    h = await startHarness({
      config: { ...base, profiles: { ...base.profiles, sb: { ...base.profiles.rocky9!, loader: 'grub' } } },
    });
    tftp = h.flow.tftpHandler(async (name) => {
      passed.push(name);
      throw new KickstandError(ErrorCode.NOT_FOUND, 'file not found');
    });
    await h.registry.add({ name: 'sb1', macs: ['52:54:00:00:07:01'], profile: 'sb', ipv4: '127.0.0.71' });
    await h.registry.add({
      name: 'sb2',
      macs: ['52:54:00:00:07:02'],
      profile: 'sb',
      ipv4: '127.0.0.72',
      netboot: false,
    });
  });
  after(async () => h.close());

  it('/grub/grub.cfg is the chain config, with or without the leading slash', async () => {
    for (const n of ['/grub/grub.cfg', 'grub/grub.cfg'])
      assert.match(text(await tftp(n, from('127.0.0.71'))), /configfile \$prefix\/grub\.cfg-01-\$net_default_mac/);
  });

  it("an armed host's own address gets the install config (token URL), by GRUB's colon MAC", async () => {
    const t = text(await tftp('/grub/grub.cfg-01-52:54:00:00:07:01', from('127.0.0.71')));
    assert.match(t, /^linux '\/rocky9\/vmlinuz' 'inst\.ks=http:\/\/127\.0\.0\.1:\d+\/ks\/[^']+'/m);
    assert.match(t, /^initrd '\/rocky9\/initrd\.img'$/m);
    const ev = await eventsOf(h.store, 'sb1', (e) => e.kind === 'tftp.grub');
    assert.equal(ev.at(-1)?.data.script, 'install');
  });

  it('another address is refused (no token harvesting by MAC); dashed MAC form works too', async () => {
    await assert.rejects(tftp('grub/grub.cfg-01-52-54-00-00-07-01', from('127.0.0.99')), (e: unknown) => {
      return e instanceof KickstandError && e.code === ErrorCode.PATH_REFUSED;
    });
  });

  it('a host that is not armed gets the local config; an unknown MAC the discovered one', async () => {
    assert.match(text(await tftp('/grub/grub.cfg-01-52:54:00:00:07:02', from('127.0.0.72'))), /^exit$/m);
    const d = text(await tftp('/grub/grub.cfg-01-52:54:00:00:07:09', from('127.0.0.79')));
    assert.match(d, /kickstand host add NAME --mac 52:54:00:00:07:09/);
  });

  it('every other name goes to the files', async () => {
    await assert.rejects(tftp('/grub/x86_64-efi/command.lst', from('127.0.0.71')));
    await assert.rejects(tftp('shimx64.efi', from('127.0.0.71')));
    assert.deepEqual(passed, ['/grub/x86_64-efi/command.lst', 'shimx64.efi']);
  });
});
