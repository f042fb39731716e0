/**
 * The lab's log-based check (test/e2e/lab/checks.ts checkDhcpWarmUp) on sample daemon logs:
 * the check the lab runs against `serve` must fail when the warm-up did not happen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDhcpWarmUp, checkJourney, checkOneAddress, type MachineRecord } from './lab/checks';

const line = (o: object): string =>
  JSON.stringify({ level: 30, time: '2026-11-22T12:00:00.000Z', service: 'kickstand', ...o });

describe('lab check: DHCP warm-up', () => {
  it('passes on the warm-up line with exchanges', () => {
    const log = [
      line({ msg: 'kickstand starting' }),
      line({
        component: 'dhcp',
        exchanges: 7998,
        ms: 1320,
        msg: 'dhcp warmed up over loopback before opening its sockets',
      }),
    ].join('\n');
    const c = checkDhcpWarmUp(log);
    assert.equal(c.ok, true, c.detail);
    assert.match(c.detail, /7998 exchanges/);
  });
  it('fails without the line, with zero exchanges, or on a line that is not JSON', () => {
    assert.equal(checkDhcpWarmUp(line({ msg: 'dhcp listening' })).ok, false);
    assert.equal(
      checkDhcpWarmUp(line({ exchanges: 0, msg: 'dhcp warmed up over loopback before opening its sockets' })).ok,
      false,
    );
    assert.equal(checkDhcpWarmUp('INFO dhcp warmed up over loopback (pretty)').ok, false);
  });
});

describe('lab check: one address across PXE ROM → iPXE', () => {
  const def = {
    name: 'uefi',
    kind: 'uefi-pxe' as const,
    mac: '52:54:00:6b:73:02',
    registered: true,
    firmware: 'OVMF',
    chain: true,
  };
  const ev = (id: number, boot: string, ip: string) => ({
    id,
    ts: '',
    host: 'uefi',
    mac: def.mac,
    kind: 'dhcp.ack',
    level: 'info' as const,
    message: `leased ${ip}`,
    data: { ip, boot },
  });
  const rec = { def, bootStartIds: [1, 100], console: [] };
  const row = (ip: string, clientId: string | null) => ({ ip, mac: def.mac, clientId, state: 'bound' });
  const result = (events: ReturnType<typeof ev>[], leases: ReturnType<typeof row>[]) =>
    Object.fromEntries(checkOneAddress(rec, events, leases).map((c) => [c.step, c.ok]));

  it('passes when the firmware and iPXE got the same address and one lease row holds it', () => {
    assert.deepEqual(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.101')],
        [row('198.18.77.101', '015254006b7302')],
      ),
      { 'ROM → iPXE DHCP': true, 'one address': true },
    );
  });
  it('fails on two addresses, two lease rows, or a boot without the iPXE exchange', () => {
    assert.equal(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.102')],
        [row('198.18.77.101', null), row('198.18.77.102', '015254006b7302')],
      )['one address'],
      false,
    );
    assert.equal(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.101')],
        [row('198.18.77.101', null), row('198.18.77.102', '015254006b7302')],
      )['one address'],
      false,
    );
    assert.equal(result([ev(2, 'loader', '198.18.77.101')], [row('198.18.77.101', null)])['ROM → iPXE DHCP'], false);
    assert.equal(
      result([ev(2, 'loader', '198.18.77.101'), ev(150, 'script', '198.18.77.101')], [row('198.18.77.101', null)])[
        'ROM → iPXE DHCP'
      ],
      false,
      'an exchange of the second boot does not count',
    );
  });
});

describe('lab check: the journey (installed Debian booted from disk, sshd serves the pinned key)', () => {
  const def = {
    name: 'jbios',
    kind: 'bios' as const,
    mac: '52:54:00:6b:75:01',
    registered: true,
    firmware: 'SeaBIOS',
    disk: true,
  };
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKickstandLabPinnedKeyAAAAAAAAAAAAAAAAAAAAAAAA';
  const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnotherKeyFromTheRootfsBuildAAAAAAAAAAAAAAAAA';
  const boot1 = [
    '----- jbios: power on (boot 1) -----',
    'standin: partitioned: GPT, /dev/vda2 ESP (FAT32), /dev/vda3 root (ext4 0f8e…)',
    'standin: root filesystem extracted: Debian 12.12, kernel 6.1.0-57-amd64',
    'standin: boot loader: GRUB grub-install --target=i386-pc /dev/vda; update-grub; hostname jbios',
    `  | post: host key ${KEY} root@standin`,
  ];
  const boot2 = (banner: string) => [
    '----- jbios: power on (boot 2) -----',
    'Kickstand: jbios: installed, booting the local disk',
    banner,
  ];
  const ack = (id: number, boot: string, ip: string) => ({
    id,
    ts: '',
    host: 'jbios',
    mac: def.mac,
    kind: 'dhcp.ack',
    level: 'info' as const,
    message: `leased ${ip}`,
    data: { ip, boot },
  });
  const good = (): MachineRecord => ({
    def,
    bootStartIds: [1, 50],
    console: [...boot1, ...boot2('Debian GNU/Linux 12 jbios ttyS0')],
    host: { sshHostKeys: [`${KEY} root@standin`] } as unknown as MachineRecord['host'],
    osIp: '198.18.79.100',
    keyscan: [`198.18.79.100 ${KEY}`],
  });
  const events = [
    ack(3, 'script', '198.18.79.100'),
    ack(51, 'script', '198.18.79.100'),
    ack(60, 'local', '198.18.79.100'),
  ];
  const result = (r: MachineRecord, ev = events) => Object.fromEntries(checkJourney(r, ev).map((c) => [c.step, c.ok]));

  it('passes when the disk was written, Debian came up as the host, leased from Kickstand and serves the pinned key', () => {
    assert.deepEqual(result(good()), {
      'disk written': true,
      'OS booted from disk': true,
      'OS DHCP': true,
      'sshd serves pinned key': true,
    });
  });
  it('fails without the stand-in disk lines or without the banner (or with another host name)', () => {
    assert.equal(
      result({
        ...good(),
        console: [...boot1.filter((l) => !l.includes('boot loader')), ...boot2('Debian GNU/Linux 12 jbios ttyS0')],
      })['disk written'],
      false,
    );
    assert.equal(
      result({ ...good(), console: [...boot1, ...boot2('Debian GNU/Linux 12 debian ttyS0')] })['OS booted from disk'],
      false,
    );
    assert.equal(
      result({ ...good(), console: [...boot1, '----- jbios: power on (boot 2) -----', 'No bootable device.'] })[
        'OS booted from disk'
      ],
      false,
    );
    const bannerInBoot1 = {
      ...good(),
      console: [...boot1, 'Debian GNU/Linux 12 jbios ttyS0', '----- jbios: power on (boot 2) -----'],
    };
    assert.equal(
      result(bannerInBoot1)['OS booted from disk'],
      false,
      'a banner outside the second boot does not count',
    );
  });
  it('fails when the installed system did not lease from Kickstand, or at another address', () => {
    assert.equal(result(good(), events.slice(0, 2))['OS DHCP'], false, "iPXE's own ack (boot: script) is not the OS's");
    assert.equal(
      result(good(), [ack(3, 'script', '198.18.79.100'), ack(40, 'local', '198.18.79.100')])['OS DHCP'],
      false,
      'an ack before the second boot does not count',
    );
    assert.equal(result({ ...good(), osIp: '198.18.79.101' })['OS DHCP'], false);
  });
  it('fails when sshd serves another key, no key, or more than one ed25519 key, or the key is not pinned', () => {
    assert.equal(result({ ...good(), keyscan: [`198.18.79.100 ${OTHER}`] })['sshd serves pinned key'], false);
    assert.equal(result({ ...good(), keyscan: [] })['sshd serves pinned key'], false);
    assert.equal(
      result({ ...good(), keyscan: [`198.18.79.100 ${KEY}`, `198.18.79.100 ${OTHER}`] })['sshd serves pinned key'],
      false,
    );
    assert.equal(
      result({ ...good(), host: { sshHostKeys: [OTHER] } as unknown as MachineRecord['host'] })[
        'sshd serves pinned key'
      ],
      false,
    );
  });
});
