/**
 * The relay checks of the pxe lab's `rbios` (test/e2e/lab/relay-checks.ts) on recorded
 * timelines, lease tables and relay-link captures: each must fail when the relay path is
 * broken — an address from the wrong scope, a relay without `-a` (no option 82), or a server
 * that drops or changes option 82 in its replies (RFC 3046 §2.2). And the capture reader
 * (relay.ts relayFrames) must find option 82 in a pcap of such messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageType, Opt } from '../../src/dhcp/constants';
import { encodePacket, type DhcpPacket } from '../../src/dhcp/packet';
import type { HostEvent } from '../../src/model/event';
import type { LeaseRow, MachineRecord } from './lab/checks';
import { MACHINES } from './lab/machines';
import { relayFrames, type RelayFrame } from './lab/relay';
import { checkRelay, circuitIdOf } from './lab/relay-checks';

const rbios = MACHINES.find((m) => m.name === 'rbios')!;
const SEG = { subnet: '198.18.81.0/24', giaddr: '198.18.81.1', circuitId: 'rl0' };
/** Option 82 as dhcrelay -a writes it: sub-option 1 (circuit id) = "rl0". */
const O82 = Buffer.from([1, 3, ...Buffer.from('rl0')]).toString('hex');
const OTHER82 = Buffer.from([1, 3, ...Buffer.from('rl9')]).toString('hex');

const rec: MachineRecord = { def: rbios, bootStartIds: [1, 100], console: [] };
const ack = (id: number, ip: string, relay: unknown = { giaddr: SEG.giaddr, circuitId: 'rl0' }): HostEvent => ({
  id,
  ts: '2026-12-07T12:00:00.000Z',
  host: 'rbios',
  mac: rbios.mac,
  kind: 'dhcp.ack',
  level: 'info',
  message: `leased ${ip}`,
  data: { ip, boot: 'script', relay },
});
const lease = (ip: string): LeaseRow => ({ ip, mac: rbios.mac, clientId: null, state: 'bound' });
const frame = (op: number, xid: number, o82: string | undefined, giaddr = SEG.giaddr): RelayFrame => ({
  op,
  xid,
  mac: rbios.mac,
  giaddr,
  yiaddr: op === 2 ? '198.18.81.100' : '0.0.0.0',
  ...(o82 ? { o82 } : {}),
});
/** A DISCOVER/OFFER and REQUEST/ACK through the relay, both echoed. */
const GOOD = [frame(1, 1, O82), frame(2, 1, O82), frame(1, 2, O82), frame(2, 2, O82)];

const result = (events: HostEvent[], leases: LeaseRow[], frames: RelayFrame[]): Record<string, boolean> =>
  Object.fromEntries(checkRelay(rec, events, leases, frames, SEG).map((c) => [c.step, c.ok]));
const ALL_OK = { 'relayed scope': true, 'relay in the timeline': true, 'option 82 in': true, 'option 82 echoed': true };

describe('lab check: a machine behind dhcrelay -a (relayed scope, option 82 in and echoed)', () => {
  it('passes when Kickstand leased from the relayed subnet and echoed option 82 in every reply', () => {
    assert.deepEqual(result([ack(2, '198.18.81.100')], [lease('198.18.81.100')], GOOD), ALL_OK);
  });
  it('fails when the address or the lease row is not in the relayed subnet (scope not chosen by giaddr)', () => {
    assert.equal(result([ack(2, '198.18.77.100')], [lease('198.18.77.100')], GOOD)['relayed scope'], false);
    assert.equal(result([ack(2, '198.18.81.100')], [lease('198.18.77.100')], GOOD)['relayed scope'], false);
    assert.equal(result([], [], GOOD)['relayed scope'], false, 'no lease at all');
  });
  it("fails when Kickstand's dhcp.ack does not name the relay and circuit id it came through", () => {
    const row = [lease('198.18.81.100')];
    assert.equal(result([ack(2, '198.18.81.100', null)], row, GOOD)['relay in the timeline'], false);
    const other = { giaddr: SEG.giaddr, circuitId: 'rl9' };
    assert.equal(result([ack(2, '198.18.81.100', other)], row, GOOD)['relay in the timeline'], false);
    assert.equal(result([], row, GOOD)['relay in the timeline'], false, 'no ack at all');
  });
  it('fails when the relay added no option 82 (dhcrelay without -a) or another circuit id, or nothing was relayed', () => {
    const plain = GOOD.map((f) => frame(f.op, f.xid, undefined));
    assert.equal(result([ack(2, '198.18.81.100')], [lease('198.18.81.100')], plain)['option 82 in'], false);
    const other = GOOD.map((f) => frame(f.op, f.xid, OTHER82));
    assert.equal(result([ack(2, '198.18.81.100')], [lease('198.18.81.100')], other)['option 82 in'], false);
    const direct = GOOD.map((f) => frame(f.op, f.xid, O82, '0.0.0.0'));
    assert.equal(result([ack(2, '198.18.81.100')], [lease('198.18.81.100')], direct)['option 82 in'], false);
    assert.deepEqual(result([ack(2, '198.18.81.100')], [lease('198.18.81.100')], []), {
      'relayed scope': true,
      'relay in the timeline': true,
      'option 82 in': false,
      'option 82 echoed': false,
    });
  });
  it('fails when a reply drops or changes option 82, or Kickstand sent fewer than OFFER and ACK', () => {
    const ok = [ack(2, '198.18.81.100')];
    const row = [lease('198.18.81.100')];
    const dropped = [GOOD[0]!, GOOD[1]!, GOOD[2]!, frame(2, 2, undefined)];
    assert.equal(result(ok, row, dropped)['option 82 echoed'], false);
    const changed = [GOOD[0]!, frame(2, 1, OTHER82), GOOD[2]!, GOOD[3]!];
    assert.equal(result(ok, row, changed)['option 82 echoed'], false);
    assert.equal(result(ok, row, GOOD.slice(0, 2))['option 82 echoed'], false, 'only the OFFER');
    const unasked = [...GOOD, frame(2, 7, O82)];
    assert.equal(result(ok, row, unasked)['option 82 echoed'], false, 'a reply to no relayed request');
  });
  it('reads the circuit id among other sub-options', () => {
    assert.equal(circuitIdOf(Buffer.from([2, 2, 9, 9, 1, 3, ...Buffer.from('rl0')]).toString('hex')), 'rl0');
    assert.equal(circuitIdOf(Buffer.from([2, 2, 9, 9]).toString('hex')), undefined);
    assert.equal(circuitIdOf(undefined), undefined);
  });
});

/** A pcap (Ethernet) of DHCP messages between 198.18.82.2:67 and 198.18.82.1:67. */
function pcapOf(packets: DhcpPacket[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const recs = packets.map((p) => {
    const enc = encodePacket(p);
    assert.ok(enc.ok);
    const udp = enc.bytes;
    const frameBuf = Buffer.alloc(14 + 20 + 8 + udp.length);
    frameBuf.writeUInt16BE(0x0800, 12);
    frameBuf[14] = 0x45;
    frameBuf.writeUInt16BE(20 + 8 + udp.length, 16);
    frameBuf[14 + 9] = 17;
    Buffer.from(p.op === 1 ? [198, 18, 82, 2, 198, 18, 82, 1] : [198, 18, 82, 1, 198, 18, 82, 2]).copy(frameBuf, 26);
    frameBuf.writeUInt16BE(67, 34);
    frameBuf.writeUInt16BE(67, 36);
    frameBuf.writeUInt16BE(8 + udp.length, 38);
    udp.copy(frameBuf, 42);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(frameBuf.length, 8);
    rh.writeUInt32LE(frameBuf.length, 12);
    return Buffer.concat([rh, frameBuf]);
  });
  return Buffer.concat([head, ...recs]);
}

const packet = (op: number, type: number, o82?: Buffer): DhcpPacket => ({
  op,
  htype: 1,
  hlen: 6,
  hops: op === 1 ? 1 : 0,
  xid: 0x1234,
  secs: 0,
  flags: 0,
  ciaddr: '0.0.0.0',
  yiaddr: op === 2 ? '198.18.81.100' : '0.0.0.0',
  siaddr: '0.0.0.0',
  giaddr: '198.18.81.1',
  chaddr: Buffer.concat([Buffer.from([0x52, 0x54, 0, 0x6b, 0x73, 4]), Buffer.alloc(10)]),
  sname: '',
  file: '',
  options: new Map([
    [Opt.MESSAGE_TYPE, Buffer.from([type])],
    ...(o82 ? ([[Opt.RELAY_AGENT_INFO, o82]] as Array<[number, Buffer]>) : []),
  ]),
});

describe('relay link capture reader', () => {
  it('finds giaddr and option 82 of each relayed request and reply, and its absence', () => {
    const o82 = Buffer.from(O82, 'hex');
    const frames = relayFrames(
      pcapOf([packet(1, MessageType.DISCOVER, o82), packet(2, MessageType.OFFER, o82), packet(2, MessageType.ACK)]),
    );
    assert.deepEqual(frames, [
      { op: 1, xid: 0x1234, mac: rbios.mac, giaddr: '198.18.81.1', yiaddr: '0.0.0.0', o82: O82 },
      { op: 2, xid: 0x1234, mac: rbios.mac, giaddr: '198.18.81.1', yiaddr: '198.18.81.100', o82: O82 },
      { op: 2, xid: 0x1234, mac: rbios.mac, giaddr: '198.18.81.1', yiaddr: '198.18.81.100' },
    ]);
    assert.deepEqual(relayFrames(Buffer.alloc(0)), []);
  });
});
