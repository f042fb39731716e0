/**
 * The lab's log-based check (test/e2e/lab/checks.ts checkDhcpWarmUp) on sample daemon logs:
 * the check the lab runs against `serve` must fail when the warm-up did not happen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostEvent } from '../../src/model/event';
import type { Host } from '../../src/model/host';
import { checkDhcpWarmUp, checkJourney, checkOneAddress, type MachineRecord } from './lab/checks';
import type { JourneyRecord, MeshRound, NodeView } from './lab/journey';
import { HANDSHAKE_MAX_AGE_S, checkBootstrapJourney } from './lab/journey-checks';

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

describe('lab check: the journey past the disk boot (bootstrap, mesh, cluster stand-in, rebuild)', () => {
  const jbios = {
    name: 'jbios',
    kind: 'bios' as const,
    mac: '52:54:00:6b:75:01',
    registered: true,
    firmware: 'f',
    disk: true,
    role: 'agent' as const,
    reimage: true,
  };
  const juefi = { ...jbios, name: 'juefi', mac: '52:54:00:6b:75:02', role: 'server' as const, reimage: false };
  const K = { a: 'A'.repeat(43) + '=', b: 'B'.repeat(43) + '=', a2: 'C'.repeat(43) + '=' };
  const ev = (id: number, host: string, kind: string, message: string, data: Record<string, unknown> = {}) =>
    ({ id, ts: '', host, mac: null, kind, level: 'info', message, data }) as HostEvent;
  const events = (host: string, role: string, base: number): HostEvent[] => [
    ev(base, host, 'host.state', 'installed → bootstrapping', {
      from: 'installed',
      to: 'bootstrapping',
      cause: 'installed host answered on SSH',
    }),
    ev(base + 1, host, 'bootstrap.step', 'mesh.keys: changed (mesh address x)', { step: 'mesh.keys' }),
    ev(base + 2, host, 'bootstrap.step', 'mesh.config: changed', { step: 'mesh.config' }),
    ev(base + 3, host, 'bootstrap.step', 'mesh.peers: ok, no change', { step: 'mesh.peers' }),
    ev(base + 4, host, 'bootstrap.step', `k3s.join: changed (${role} via 198.19.79.1, k3s v1 amd64 from the bundle)`, {
      step: 'k3s.join',
    }),
  ];
  const node = (machine: string, pub: string, peers: Array<[string, string]>, extra: Partial<NodeView> = {}) =>
    ({
      machine,
      ip: '198.18.79.100',
      now: 1000,
      publicKey: pub,
      peers: peers.map(([k, a]) => ({
        publicKey: k,
        endpoint: 'x:51820',
        allowedIps: `${a}/32`,
        latestHandshake: 990,
      })),
      pings: peers.map(([, a]) => ({ target: `x ${a}`, ok: true, summary: '3 packets transmitted, 3 received' })),
      ...extra,
    }) as NodeView;
  const round = (name: 'join' | 'rejoin', aKey: string, at: number): MeshRound => ({
    name,
    at,
    mesh: [
      { host: 'juefi', address: '198.19.79.1', publicKey: K.b, endpoint: null },
      { host: 'jbios', address: '198.19.79.2', publicKey: aKey, endpoint: null },
    ],
    nodes: [
      node('jbios', aKey, [[K.b, '198.19.79.1']], {
        k3sUnit: 'k3s-agent',
        k3sActive: 'active',
        agentUrl: 'https://198.19.79.1:6443',
        joined: `${at + 5} joined jbios from 198.19.79.2`,
      }),
      node('juefi', K.b, [[aKey, '198.19.79.2']], {
        k3sUnit: 'k3s',
        k3sActive: 'active',
        agents: [`jbios 198.19.79.2 ${at - 600}`, ...(name === 'rejoin' ? [`jbios 198.19.79.2 ${at - 5}`] : [])],
      }),
    ],
    inventory: {
      hostvars: { jbios: { mesh_address: '198.19.79.2' }, juefi: { mesh_address: '198.19.79.1' } },
    },
  });
  const good = (): JourneyRecord => ({
    rounds: [round('join', K.a, 1000), round('rejoin', K.a2, 2000)],
    ready: { jbios: [300, 900], juefi: [320] },
    rebuild: {
      machine: 'jbios',
      other: 'juefi',
      oldHostKeys: ['ssh-ed25519 OLD'],
      oldWgKey: K.a,
      output: 'jbios: ready → armed',
      afterReimage: { state: 'armed', sshHostKeys: [] } as unknown as Host,
      otherPeersAfterReimage: [],
      newHostKeys: ['ssh-ed25519 NEW'],
      oldKeyLogin: { refused: true, said: 'Host key verification failed.' },
      at: 1500,
    },
  });
  const all = [...events('jbios', 'agent', 1), ...events('juefi', 'server', 10)];
  const failing = (rec: JourneyRecord, evs = all) =>
    checkBootstrapJourney([jbios, juefi], rec, evs)
      .filter((c) => !c.ok)
      .map((c) => `${c.machine} ${c.step}`);

  it('passes on a converged mesh, a joined cluster and a clean rebuild', () => {
    assert.deepEqual(failing(good()), []);
  });
  it('fails when the bootstrap was started by hand or a step is missing', () => {
    const byHand = all.map((e) =>
      e.id === 1 ? { ...e, data: { ...e.data, cause: 'kickstand host bootstrap (operator)' } } : e,
    );
    assert.deepEqual(failing(good(), byHand), ['jbios bootstrap by itself']);
    assert.deepEqual(
      failing(
        good(),
        all.filter((e) => e.id !== 14),
      ),
      ['juefi k3s step'],
    );
  });
  it('fails on a stale handshake, a missing or unknown peer, or a failed ping', () => {
    const stale = good();
    stale.rounds[0]!.nodes[0]!.peers![0]!.latestHandshake = 1000 - HANDSHAKE_MAX_AGE_S - 1;
    assert.deepEqual(failing(stale), ['jbios wg peers']);
    const extra = good();
    extra.rounds[0]!.nodes[1]!.peers!.push({ publicKey: K.a2, endpoint: '', allowedIps: '', latestHandshake: 0 });
    assert.deepEqual(failing(extra), ['juefi wg peers']);
    const ping = good();
    ping.rounds[0]!.nodes[1]!.pings[0]!.ok = false;
    assert.deepEqual(failing(ping), ['juefi mesh ping']);
  });
  it('fails when the agent joined through another address or the server has no record of it', () => {
    const url = good();
    url.rounds[0]!.nodes[0]!.agentUrl = 'https://198.18.79.101:6443';
    assert.deepEqual(failing(url), ['jbios cluster']);
    const none = good();
    none.rounds[0]!.nodes[1]!.agents = [];
    assert.deepEqual(failing(none), ['juefi cluster']);
  });
  it('fails when the rebuild kept the old WireGuard key anywhere or the old host key still logs in', () => {
    const kept = good();
    kept.rebuild!.otherPeersAfterReimage = [K.a];
    assert.deepEqual(failing(kept), ['jbios reimage leaves mesh']);
    const same = good();
    same.rounds[1] = round('rejoin', K.a, 2000);
    assert.ok(failing(same).includes('jbios new wg key'));
    const login = good();
    login.rebuild!.oldKeyLogin = { refused: false, said: '' };
    assert.deepEqual(failing(login), ['jbios old host key refused']);
    const noRejoin = good();
    noRejoin.rounds[1]!.nodes[1]!.agents = [`jbios 198.19.79.2 ${1000 - 600}`];
    assert.deepEqual(failing(noRejoin), ['jbios cluster rejoin']);
  });
});
