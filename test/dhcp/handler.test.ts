/**
 * The DHCP message flows through the real server and the real SQLite store (':memory:'),
 * with an in-memory socket (socketFactory) instead of UDP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { dhcpSchema } from '../../src/config/sections/dhcp';
import { networkSchema } from '../../src/config/sections/network';
import { processDatagram } from '../../src/dhcp/handler';
import { createHandlerContext } from '../../src/dhcp/server';
import { silentLogger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import { MessageType as T, Opt } from '../../src/dhcp/constants';
import { getIp, getU32, getU8 } from '../../src/dhcp/options';
import { NETWORK, startHarness, request, ip4, type Harness, type Sent } from './helpers/harness';

const PXE_UEFI: [number, Buffer | string | number[]][] = [
  [60, 'PXEClient:Arch:00007:UNDI:003016'],
  [93, [0, 7]],
  [94, [1, 3, 1]],
];
const PXE_BIOS: [number, Buffer | string | number[]][] = [
  [60, 'PXEClient:Arch:00000:UNDI:002001'],
  [93, [0, 0]],
];
const SID: [number, number[]] = [54, ip4('198.18.0.1')];

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const type = (s: Sent) => getU8(s.packet.options, Opt.MESSAGE_TYPE);
async function metric(h: Harness, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await h.metrics.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as { value: number; labels: Record<string, string> }[] | undefined)?.find((x) =>
    Object.entries(labels).every(([k, val]) => x.labels[k] === val),
  );
  return v?.value ?? 0;
}
async function register(h: Harness, name: string, mac: string, over: { netboot?: boolean; ipv4?: string | null } = {}) {
  return h.store.hosts.create({
    name,
    macs: [mac],
    profile: 'default',
    role: 'worker',
    ipv4: over.ipv4 ?? null,
    vars: {},
    netboot: over.netboot ?? true,
    state: over.netboot === false ? 'registered' : 'armed',
  });
}
async function dora(h: Harness, mac: string, opts: [number, Buffer | string | number[]][] = PXE_UEFI) {
  const [offer] = await h.ask(request({ type: T.DISCOVER, mac, options: opts }));
  assert.ok(offer, 'OFFER expected');
  const [ack] = await h.ask(request({ type: T.REQUEST, mac, options: [...opts, SID, [50, ip4(offer.packet.yiaddr)]] }));
  assert.ok(ack, 'reply to REQUEST expected');
  return { offer, ack };
}

describe('authoritative DORA', () => {
  it('armed UEFI host: OFFER from the pool with ipxe.efi, ACK after the lease is committed, events on its timeline', async () => {
    h = await startHarness();
    await register(h, 'node1', '52:54:00:00:00:01');
    const [offer] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: PXE_UEFI }));
    assert.ok(offer);
    assert.equal(await h.store.leases.get('198.18.0.100'), undefined, 'an OFFER persists nothing (D08)');
    assert.equal(type(offer), T.OFFER);
    assert.equal(offer.packet.yiaddr, '198.18.0.100');
    assert.equal(offer.packet.file, 'ipxe.efi');
    assert.equal(offer.packet.siaddr, '198.18.0.1');
    assert.deepEqual(
      offer.to,
      { address: '255.255.255.255', port: 68 },
      'no ciaddr, no relay: limited broadcast from the socket bound to network.address',
    );
    assert.equal(getIp(offer.packet.options, Opt.SERVER_ID), '198.18.0.1');
    assert.equal(getIp(offer.packet.options, Opt.SUBNET_MASK), '255.255.255.0');
    assert.equal(getIp(offer.packet.options, Opt.ROUTER), '198.18.0.1');
    assert.equal(getU32(offer.packet.options, Opt.LEASE_TIME), 3600);
    assert.equal(getU32(offer.packet.options, Opt.RENEWAL_TIME), 1800);
    assert.equal(getU32(offer.packet.options, Opt.REBINDING_TIME), 3150);
    assert.equal(offer.packet.options.get(Opt.HOSTNAME)?.toString(), 'node1');
    const [ack] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:01', options: [...PXE_UEFI, SID, [50, ip4('198.18.0.100')]] }),
    );
    assert.ok(ack);
    assert.equal(type(ack), T.ACK);
    assert.equal(ack.packet.yiaddr, '198.18.0.100');
    const lease = await h.store.leases.get('198.18.0.100');
    assert.equal(lease?.state, 'bound');
    assert.equal(lease?.mac, '52:54:00:00:00:01');
    assert.equal(lease?.expiresAt, h.clock.t + 3600_000);
    const kinds = (await h.store.events.list({ host: 'node1' })).map((e) => e.kind);
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('dhcp.')),
      ['dhcp.offer', 'dhcp.ack'],
    );
  });

  it('BIOS arch gets undionly.kpxe; iPXE user class gets the boot.ipxe URL', async () => {
    h = await startHarness();
    await register(h, 'node1', '52:54:00:00:00:01');
    const [bios] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: PXE_BIOS }));
    assert.equal(bios!.packet.file, 'undionly.kpxe');
    const [ipxe] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [...PXE_BIOS, [77, 'iPXE'], [55, [1, 3, 67]]] }),
    );
    assert.equal(ipxe!.packet.file, 'http://198.18.0.1:8080/boot.ipxe');
    assert.equal(
      ipxe!.packet.options.get(Opt.BOOTFILE_NAME)?.toString(),
      'http://198.18.0.1:8080/boot.ipxe',
      'option 67 when listed in 55',
    );
    const [http] = await h.ask(
      request({
        type: T.DISCOVER,
        mac: '52:54:00:00:00:01',
        options: [
          [60, 'HTTPClient:Arch:00016:UNDI:003001'],
          [93, [0, 16]],
        ],
      }),
    );
    assert.equal(http!.packet.file, 'http://198.18.0.1:8080/images/ipxe.efi');
    assert.equal(http!.packet.options.get(Opt.VENDOR_CLASS)?.toString(), 'HTTPClient');
  });

  it('static reservation wins over the pool; registered-but-not-armed gets no boot file', async () => {
    h = await startHarness();
    await register(h, 'res', '52:54:00:00:00:02', { ipv4: '198.18.0.50', netboot: false });
    const { offer, ack } = await dora(h, '52:54:00:00:00:02');
    assert.equal(offer.packet.yiaddr, '198.18.0.50');
    assert.equal(offer.packet.file, '');
    assert.equal(ack.packet.yiaddr, '198.18.0.50');
  });

  it('unknown MAC: ignored by default (counted), offered and recorded as discovered with unknownHosts=discover', async () => {
    h = await startHarness();
    assert.deepEqual(await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:09', options: PXE_UEFI })), []);
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'unknown-host' }), 1);
    await h.stop();
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const { offer, ack } = await dora(h, '52:54:00:00:00:09');
    assert.equal(offer.packet.file, 'ipxe.efi');
    assert.equal(type(ack), T.ACK);
    const ev = await h.store.events.list({});
    assert.equal(ev.filter((e) => e.kind === 'host.discovered' && e.mac === '52:54:00:00:00:09').length, 1);
  });

  it('a retransmitted DISCOVER gets the same address; the pool is exhausted without a crash', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const [a] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:01:00' }));
    const [b] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:01:00' }));
    assert.equal(a!.packet.yiaddr, b!.packet.yiaddr);
    const seen = new Set<string>([a!.packet.yiaddr]);
    for (let i = 1; i < 12; i += 1) {
      const r = await h.ask(request({ type: T.DISCOVER, mac: `52:54:00:00:01:${i.toString(16).padStart(2, '0')}` }));
      if (r[0]) seen.add(r[0].packet.yiaddr);
    }
    assert.equal(seen.size, 10, 'pool of 10 addresses, each offered once');
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'pool-exhausted' }), 2);
  });
});

describe('firmware captures through the server', () => {
  it('OVMF UEFI PXE DISCOVER and REQUEST (QEMU capture): OFFER/ACK with ipxe.efi, broadcast', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const dir = join(__dirname, '../fixtures/dhcp/captures');
    const [o] = await h.ask(readFileSync(join(dir, 'ovmf-pxe-discover.bin')));
    assert.equal(type(o!), T.OFFER);
    assert.equal(o!.packet.file, 'ipxe.efi');
    assert.deepEqual(o!.to, { address: '255.255.255.255', port: 68 });
    // The captured REQUEST names the capture's server (198.18.100.1): another server → silence.
    assert.deepEqual(await h.ask(readFileSync(join(dir, 'ovmf-pxe-request.bin'))), []);
    const [i] = await h.ask(readFileSync(join(dir, 'ipxe-bios-discover.bin')));
    assert.equal(i!.packet.file, 'http://198.18.0.1:8080/boot.ipxe');
  });
});

describe('REQUEST states (RFC 2131 §4.3.2)', () => {
  it('SELECTING for another server: silent, and our offer is released', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const [offer] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01' }));
    const r = await h.ask(
      request({
        type: T.REQUEST,
        mac: '52:54:00:00:00:01',
        options: [
          [54, ip4('198.18.0.99')],
          [50, ip4(offer!.packet.yiaddr)],
        ],
      }),
    );
    assert.deepEqual(r, []);
    const [other] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:00:00:02', options: [[50, ip4(offer!.packet.yiaddr)]] }),
    );
    assert.equal(other!.packet.yiaddr, offer!.packet.yiaddr, 'released offer is no longer held');
  });

  it('SELECTING for an address not offered: NAK, broadcast', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    await dora(h, '52:54:00:00:00:01');
    const [nak] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:02', options: [SID, [50, ip4('198.18.0.100')]] }),
    );
    assert.equal(type(nak!), T.NAK);
    assert.equal(nak!.packet.yiaddr, '0.0.0.0');
    assert.deepEqual(nak!.to, { address: '255.255.255.255', port: 68 });
  });

  it('INIT-REBOOT: own address ACKed, wrong network NAKed, no record silent, own offer ACKed', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const { ack } = await dora(h, '52:54:00:00:00:01');
    const [again] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:01', options: [[50, ip4(ack.packet.yiaddr)]] }),
    );
    assert.equal(type(again!), T.ACK);
    const [wrong] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:01', options: [[50, ip4('198.19.5.5')]] }),
    );
    assert.equal(type(wrong!), T.NAK);
    assert.deepEqual(
      await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:07', options: [[50, ip4('198.18.0.105')]] })),
      [],
    );
    // The address offered to this very client is its record too (docs/dhcp.md "Leases"); to
    // another client it is not available: NAK.
    const [offer] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:08' }));
    const offered = offer!.packet.yiaddr;
    const [other] = await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:09', options: [[50, ip4(offered)]] }));
    assert.equal(type(other!), T.NAK);
    const [mine] = await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:08', options: [[50, ip4(offered)]] }));
    assert.equal(type(mine!), T.ACK);
    assert.equal(mine!.packet.yiaddr, offered);
  });

  it('RENEWING: unicast ACK to ciaddr; renewing someone else’s address is NAKed', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const { ack } = await dora(h, '52:54:00:00:00:01');
    h.clock.t += 1000_000;
    const [renew] = await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:01', ciaddr: ack.packet.yiaddr }), {
      address: ack.packet.yiaddr,
      port: 68,
    });
    assert.equal(type(renew!), T.ACK);
    assert.deepEqual(renew!.to, { address: ack.packet.yiaddr, port: 68 });
    assert.equal((await h.store.leases.get(ack.packet.yiaddr))?.expiresAt, h.clock.t + 3600_000);
    const [steal] = await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:02', ciaddr: ack.packet.yiaddr }));
    assert.equal(type(steal!), T.NAK);
  });
});

describe('DECLINE, RELEASE, INFORM', () => {
  it('DECLINE quarantines the address; spoofed declines are ignored; at most declineLimitPerHour per client', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover', declineLimitPerHour: 2 } });
    const { ack } = await dora(h, '52:54:00:00:00:01');
    const ip = ack.packet.yiaddr;
    await h.ask(request({ type: T.DECLINE, mac: '52:54:00:00:00:02', options: [SID, [50, ip4(ip)]] }));
    assert.equal((await h.store.leases.get(ip))?.state, 'bound', 'spoofed decline (other chaddr) ignored');
    await h.ask(request({ type: T.DECLINE, mac: '52:54:00:00:00:01', options: [[50, ip4(ip)]] }));
    assert.equal((await h.store.leases.get(ip))?.state, 'bound', 'decline without server id ignored');
    await h.ask(request({ type: T.DECLINE, mac: '52:54:00:00:00:01', options: [SID, [50, ip4(ip)]] }));
    const q = await h.store.leases.get(ip);
    assert.equal(q?.state, 'declined');
    assert.equal(q?.expiresAt, h.clock.t + 86400_000);
    const { ack: ack2 } = await dora(h, '52:54:00:00:00:01');
    assert.notEqual(ack2.packet.yiaddr, ip, 'quarantined address not offered again');
    await h.ask(request({ type: T.DECLINE, mac: '52:54:00:00:00:01', options: [SID, [50, ip4(ack2.packet.yiaddr)]] }));
    const { ack: ack3 } = await dora(h, '52:54:00:00:00:01');
    await h.ask(request({ type: T.DECLINE, mac: '52:54:00:00:00:01', options: [SID, [50, ip4(ack3.packet.yiaddr)]] }));
    assert.equal(
      (await h.store.leases.get(ack3.packet.yiaddr))?.state,
      'bound',
      'third decline in the hour ignored (limit 2)',
    );
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'decline-limit' }), 1);
  });

  it('RELEASE frees the address and the same client gets it back', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const { ack } = await dora(h, '52:54:00:00:00:01');
    await h.ask(request({ type: T.RELEASE, mac: '52:54:00:00:00:01', ciaddr: ack.packet.yiaddr, options: [SID] }));
    assert.equal((await h.store.leases.get(ack.packet.yiaddr))?.state, 'released');
    const { ack: again } = await dora(h, '52:54:00:00:00:01');
    assert.equal(again.packet.yiaddr, ack.packet.yiaddr);
  });

  it('INFORM: ACK to ciaddr without yiaddr or lease time, nothing allocated', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const [r] = await h.ask(request({ type: T.INFORM, mac: '52:54:00:00:00:01', ciaddr: '198.18.0.20' }), {
      address: '198.18.0.20',
      port: 68,
    });
    assert.equal(type(r!), T.ACK);
    assert.equal(r!.packet.yiaddr, '0.0.0.0');
    assert.equal(r!.packet.options.has(Opt.LEASE_TIME), false);
    assert.deepEqual(r!.to, { address: '198.18.0.20', port: 68 });
    assert.deepEqual(await h.store.leases.list(), []);
  });
});

describe('relayed subnets (giaddr, option 82)', () => {
  const relayed = [
    { subnet: '198.18.64.0/24', pool: { start: '198.18.64.10', end: '198.18.64.20' }, gateway: '198.18.64.1' },
    { subnet: '198.18.65.0/24', pool: { start: '198.18.65.10', end: '198.18.65.20' } },
  ];
  const opt82 = [1, 4, 0, 1, 0, 2, 2, 3, 0xaa, 0xbb, 0xcc];

  it('replies to the relay on port 67 from the giaddr subnet, echoing option 82 byte for byte, last', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover', relayed } });
    const [o] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', giaddr: '198.18.64.1', hops: 1, options: [[82, opt82]] }),
      { address: '198.18.64.1', port: 67 },
    );
    assert.equal(o!.packet.yiaddr, '198.18.64.10');
    assert.deepEqual(o!.to, { address: '198.18.64.1', port: 67 });
    assert.equal(o!.packet.giaddr, '198.18.64.1');
    assert.deepEqual([...o!.packet.options.get(82)!], opt82);
    assert.equal([...o!.packet.options.keys()].at(-1), 82);
    assert.equal(getIp(o!.packet.options, Opt.ROUTER), '198.18.64.1');
  });

  it('RFC 3527 link selection picks the subnet; unknown giaddr and untrusted relays are dropped', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover', relayed } });
    const link = [5, 4, ...ip4('198.18.65.0')];
    const [o] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', giaddr: '198.18.64.1', options: [[82, link]] }),
    );
    assert.equal(o!.packet.yiaddr, '198.18.65.10');
    assert.deepEqual(await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:02', giaddr: '198.18.99.1' })), []);
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'no-subnet' }), 1);
    await h.stop();
    h = await startHarness({ dhcp: { unknownHosts: 'discover', relayed, trustedRelays: ['198.18.64.1'] } });
    assert.deepEqual(await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:02', giaddr: '198.18.65.1' })), []);
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'untrusted-relay' }), 1);
  });

  it('option 82 from a directly attached client (no giaddr) is not echoed (RFC 3046 §2.1, D13)', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const [o] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[82, opt82]] }));
    assert.equal(o!.packet.options.has(82), false);
  });
});

describe('PXE ROM → iPXE on one MAC (one client, one address)', () => {
  const MAC = '52:54:00:00:00:01';
  const IPXE_ID: [number, number[]] = [61, [1, 0x52, 0x54, 0, 0, 0, 1]]; // hardware type 1 + chaddr
  const IPXE: [number, Buffer | string | number[]][] = [...PXE_BIOS, [77, 'iPXE'], [175, [0x13, 1, 1]], IPXE_ID];

  it('the ROM (no option 61) and the iPXE it chains into (61 = 01:<MAC>) keep one binding and one address', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    await register(h, 'node1', MAC);
    const rom = await dora(h, MAC, PXE_BIOS);
    assert.equal(type(rom.ack), T.ACK);
    const ipxe = await dora(h, MAC, IPXE);
    assert.equal(type(ipxe.ack), T.ACK);
    assert.equal(ipxe.offer.packet.yiaddr, rom.ack.packet.yiaddr, 'iPXE is offered the address the ROM holds');
    assert.equal(ipxe.ack.packet.yiaddr, rom.ack.packet.yiaddr);
    const leases = await h.store.leases.list();
    assert.deepEqual(
      leases.map((l) => [l.ip, l.mac, l.clientId]),
      [[rom.ack.packet.yiaddr, MAC, '01525400000001']],
      'one lease row, now with the client id',
    );
    // And back: the ROM on the next power-on finds the binding iPXE left.
    const again = await dora(h, MAC, PXE_BIOS);
    assert.equal(again.ack.packet.yiaddr, rom.ack.packet.yiaddr);
    assert.equal((await h.store.leases.list()).length, 1);
  });

  it('a RELEASE from iPXE frees the binding the ROM took', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const rom = await dora(h, MAC, PXE_BIOS);
    const ip = rom.ack.packet.yiaddr;
    assert.deepEqual(await h.ask(request({ type: T.RELEASE, mac: MAC, ciaddr: ip, options: [SID, IPXE_ID] })), []);
    assert.equal((await h.store.leases.get(ip))?.state, 'released');
  });

  it('other client identifiers on the same chaddr stay other clients (RFC 2131 §4.2)', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const plain = await dora(h, MAC, PXE_BIOS);
    const otherType = await dora(h, MAC, [[61, [0xff, 0, 0, 0, 1, 0, 1]]]);
    const otherMac = await dora(h, MAC, [[61, [1, 0x52, 0x54, 0, 0, 0, 2]]]);
    const ips = [plain, otherType, otherMac].map((x) => x.ack.packet.yiaddr);
    assert.equal(new Set(ips).size, 3, `three clients, three addresses: ${ips.join(', ')}`);
  });
});

describe('proxyDHCP', () => {
  it('answers PXE clients with boot info and no address, never non-PXE clients; ACKs on 4011 to the sender', async () => {
    h = await startHarness({ dhcp: { mode: 'proxy', unknownHosts: 'discover' } });
    const [o] = await h.ask(
      request({
        type: T.DISCOVER,
        mac: '52:54:00:00:00:01',
        options: [...PXE_BIOS, [97, [0, ...new Array(16).fill(7)]]],
      }),
    );
    assert.equal(type(o!), T.OFFER);
    assert.equal(o!.packet.yiaddr, '0.0.0.0');
    assert.equal(o!.packet.file, 'undionly.kpxe');
    assert.equal(o!.packet.siaddr, '198.18.0.1');
    assert.equal(o!.packet.options.get(Opt.VENDOR_CLASS)?.toString(), 'PXEClient');
    assert.equal(o!.packet.options.get(Opt.VENDOR_SPECIFIC)?.toString('hex'), '060108ff');
    assert.equal(o!.packet.options.get(97)?.length, 17, 'UUID echoed');
    assert.equal(o!.packet.options.has(Opt.LEASE_TIME), false);
    assert.deepEqual(await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:02' })), [], 'non-PXE client');
    assert.deepEqual(
      await h.ask(request({ type: T.REQUEST, mac: '52:54:00:00:00:02', options: [[50, ip4('198.18.0.77')]] })),
      [],
    );
    const [a] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:01', ciaddr: '198.18.0.77', options: PXE_BIOS }),
      { address: '198.18.0.77', port: 4011 },
      4011,
    );
    assert.equal(type(a!), T.ACK);
    assert.deepEqual(a!.to, { address: '198.18.0.77', port: 4011 });
    assert.equal(a!.packet.file, 'undionly.kpxe');
    assert.deepEqual(await h.store.leases.list(), [], 'proxy mode allocates nothing');
  });

  it('iPXE gets its script URL with a next-server on 67 and 4011 (iPXE drops a proxy reply without siaddr)', async () => {
    h = await startHarness({ dhcp: { mode: 'proxy', unknownHosts: 'discover' } });
    await register(h, 'node1', '52:54:00:00:00:01');
    const ipxe: [number, Buffer | string | number[]][] = [...PXE_BIOS, [77, 'iPXE'], [175, [0x13, 1, 1]]];
    const [o] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: ipxe }));
    assert.equal(type(o!), T.OFFER);
    assert.match(o!.packet.file, /^http:\/\/.*\/boot\.ipxe/);
    assert.equal(o!.packet.siaddr, '198.18.0.1', 'next-server set beside the URL');
    const [a] = await h.ask(
      request({ type: T.REQUEST, mac: '52:54:00:00:00:01', ciaddr: '198.18.0.77', options: ipxe }),
      { address: '198.18.0.77', port: 4011 },
      4011,
    );
    assert.equal(type(a!), T.ACK);
    assert.equal(a!.packet.file, o!.packet.file);
    assert.equal(a!.packet.siaddr, '198.18.0.1');
    const events = (await h.store.events.list({})).filter((e) => e.kind === 'dhcp.proxy');
    assert.deepEqual(
      events.map((e) => [e.host, e.data.port, e.data.boot]),
      [
        ['node1', 67, 'script'],
        ['node1', 4011, 'script'],
      ],
      'both proxy answers on the timeline',
    );
  });
});

describe('robustness', () => {
  it('starvation: 20,000 DISCOVERs from spoofed MACs in known-hosts mode persist nothing; a registered host is still served (D08, G7)', async () => {
    const store = openSqliteStore(':memory:');
    try {
      await store.hosts.create({
        name: 'node1',
        macs: ['52:54:00:00:00:01'],
        profile: 'default',
        role: 'worker',
        ipv4: null,
        vars: {},
        netboot: true,
        state: 'armed',
      });
      const dhcp = dhcpSchema.parse({});
      const ctx = createHandlerContext({
        config: { dhcp, network: NETWORK, http: { publicUrl: 'http://198.18.0.1:8080' } },
        store,
        log: silentLogger(),
        now: Date.now,
      });
      await ctx.book.load();
      const route = {
        broadcast: '198.18.0.255',
        serverPort: 67,
        clientPort: 68,
        from: { address: '0.0.0.0', port: 68 },
        viaPxePort: false,
      };
      for (let i = 0; i < 20_000; i += 1) {
        const mac = `02:${[i >>> 16, (i >>> 8) & 255, i & 255, 7, 9].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
        const out = await processDatagram(ctx, request({ type: T.DISCOVER, mac, options: PXE_UEFI }), route);
        assert.equal(out.kind, 'drop');
      }
      assert.deepEqual(await store.leases.list(), []);
      assert.deepEqual(await store.events.list({}), []);
      const ok = await processDatagram(
        ctx,
        request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: PXE_UEFI }),
        route,
      );
      assert.equal(ok.kind, 'send');
    } finally {
      await store.close();
    }
  });

  it('malformed datagrams are dropped and counted; BOOTREPLYs and BOOTP are ignored; the next request is served', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    assert.deepEqual(await h.ask(Buffer.alloc(10)), []);
    const bad = request({ type: T.DISCOVER, mac: '52:54:00:00:00:01' });
    bad[241] = 200; // option 53 length runs past the end
    assert.deepEqual(await h.ask(bad), []);
    const reply = request({ type: T.OFFER, mac: '52:54:00:00:00:01' });
    reply[0] = 2;
    assert.deepEqual(await h.ask(reply), []);
    assert.equal(await metric(h, 'kickstand_dhcp_malformed_total', { reason: 'short' }), 1);
    assert.equal(await metric(h, 'kickstand_dhcp_malformed_total', { reason: 'truncated-option' }), 1);
    assert.equal(await metric(h, 'kickstand_dhcp_ignored_total', { reason: 'not-request' }), 1);
    const [ok] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01' }));
    assert.equal(type(ok!), T.OFFER);
  });

  it('replies fit 548 bytes without option 57; client ids of length 1 and 255 are opaque keys (D02)', async () => {
    h = await startHarness({ dhcp: { unknownHosts: 'discover' } });
    const [a] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[61, [1]]] }));
    const [b] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[61, Buffer.alloc(255, 9)]] }),
    );
    assert.ok(a!.bytes.length <= 548 && b!.bytes.length <= 548);
    assert.notEqual(a!.packet.yiaddr, b!.packet.yiaddr, 'different client ids are different clients');
  });

  it('a relayed subnet config uses its own lease time', async () => {
    const network = networkSchema.parse({
      address: '198.18.0.1',
      subnet: '198.18.0.0/24',
      pool: { start: '198.18.0.100', end: '198.18.0.101' },
      leaseTime: 600,
    });
    h = await startHarness({ network, dhcp: { unknownHosts: 'discover' } });
    const { ack } = await dora(h, '52:54:00:00:00:01');
    assert.equal(getU32(ack.packet.options, Opt.LEASE_TIME), 600);
  });
});
