import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodePacket, encodePacket, debugString, hardwareAddress, type DhcpPacket } from '../../src/dhcp/packet';
import { GOLDEN, MALFORMED } from '../fixtures/dhcp/golden';
import { readPcap } from './helpers/pcap';

const CAPTURES = join(__dirname, '../fixtures/dhcp/captures');

function decodeOk(b: Buffer): DhcpPacket {
  const r = decodePacket(b);
  if (!r.ok) assert.fail(`decode failed: ${r.error.reason}: ${r.error.message}`);
  return r.packet;
}

function optionsHex(p: DhcpPacket): Record<number, string> {
  return Object.fromEntries([...p.options].map(([k, v]) => [k, v.toString('hex')]));
}

describe('dhcp codec: golden datagrams', () => {
  for (const g of GOLDEN) {
    it(`decodes ${g.name}`, () => {
      const p = decodeOk(g.bytes);
      assert.equal(p.op, g.expect.op);
      assert.equal(p.xid, g.expect.xid);
      assert.equal(hardwareAddress(p), g.expect.chaddr);
      if (g.expect.flags !== undefined) assert.equal(p.flags, g.expect.flags);
      if (g.expect.giaddr !== undefined) assert.equal(p.giaddr, g.expect.giaddr);
      if (g.expect.hops !== undefined) assert.equal(p.hops, g.expect.hops);
      if (g.expect.sname !== undefined) assert.equal(p.sname, g.expect.sname);
      if (g.expect.file !== undefined) assert.equal(p.file, g.expect.file);
      for (const [code, hex] of Object.entries(g.expect.options))
        assert.equal(p.options.get(Number(code))?.toString('hex'), hex, `option ${code}`);
    });
    it(`round-trips ${g.name}${g.canonical ? ' byte for byte' : ' by value'}`, () => {
      const p = decodeOk(g.bytes);
      const enc = encodePacket(p, 1500);
      assert.ok(enc.ok);
      if (g.canonical) assert.equal(enc.bytes.toString('hex'), g.bytes.toString('hex'));
      const again = decodeOk(enc.bytes);
      assert.deepEqual(optionsHex(again), optionsHex(p));
      assert.equal(debugString(again), debugString(p));
    });
  }
});

describe('dhcp codec: malformed datagrams yield typed errors, never throw', () => {
  for (const m of MALFORMED) {
    it(m.name, () => {
      const r = decodePacket(m.bytes);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.reason, m.reason);
        assert.equal(r.error.message, m.message);
      }
    });
  }
});

describe('dhcp codec: encoder', () => {
  const base = (): DhcpPacket => decodeOk(GOLDEN[0]!.bytes);

  it('splits a 600-byte option into 255+255+90 instances that decode back concatenated (RFC 3396)', () => {
    const p = base();
    p.options = new Map([
      [53, Buffer.from([2])],
      [43, Buffer.alloc(600, 7)],
    ]);
    const enc = encodePacket(p, 1500);
    assert.ok(enc.ok);
    const b = enc.bytes;
    assert.deepEqual([b[243], b[244]], [43, 255]);
    assert.deepEqual([b[243 + 257], b[244 + 257]], [43, 255]);
    assert.deepEqual([b[243 + 514], b[244 + 514]], [43, 90]);
    assert.equal(decodeOk(b).options.get(43)!.length, 600);
  });

  it('pads short replies to 300 bytes with zeros (RFC 1542 §3.2)', () => {
    const p = base();
    p.options = new Map([[53, Buffer.from([2])]]);
    const enc = encodePacket(p);
    assert.ok(enc.ok);
    assert.equal(enc.bytes.length, 300);
    assert.equal(enc.bytes[243], 255);
    assert.ok(enc.bytes.subarray(244).every((x) => x === 0));
  });

  it('spills options into file and sname with option 52 when they exceed the 576-byte limit', () => {
    const p = base();
    p.options = new Map([
      [53, Buffer.from([2])],
      [43, Buffer.alloc(250, 1)],
      [60, Buffer.alloc(100, 2)],
      [77, Buffer.alloc(60, 3)],
    ]);
    const enc = encodePacket(p); // 548 bytes max
    assert.ok(enc.ok);
    assert.ok(enc.bytes.length <= 548);
    assert.deepEqual([enc.bytes[240], enc.bytes[241], enc.bytes[242]], [52, 1, 3]);
    const back = decodeOk(enc.bytes);
    assert.deepEqual(optionsHex(back), optionsHex(p));
    assert.equal(back.file, '');
  });

  it('refuses (no throw) when options cannot fit even with overload', () => {
    const p = base();
    p.file = 'undionly.kpxe';
    p.options = new Map([[43, Buffer.alloc(1000, 1)]]);
    const enc = encodePacket(p);
    assert.equal(enc.ok, false);
  });
});

describe('dhcp codec: real captures (tcpdump of udhcpc, dhclient and dnsmasq replies)', () => {
  const files = existsSync(CAPTURES) ? readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap')) : [];
  it('has captures to check', () => assert.ok(files.length >= 2, `captures in ${CAPTURES}`));
  for (const f of files) {
    it(`${f}: every datagram decodes, matches its golden dump and round-trips`, () => {
      const dgrams = readPcap(join(CAPTURES, f)).filter((d) => d.srcPort === 67 || d.srcPort === 68);
      assert.ok(dgrams.length > 0);
      const dumps: string[] = [];
      for (const d of dgrams) {
        const p = decodeOk(d.payload);
        dumps.push(`# ${d.src}:${d.srcPort} > ${d.dst}:${d.dstPort}\n${debugString(p)}`);
        const enc = encodePacket(p, 1500);
        assert.ok(enc.ok);
        const again = decodeOk(enc.bytes);
        assert.equal(debugString(again), debugString(p));
      }
      const goldenPath = join(CAPTURES, f.replace(/\.pcap$/, '.parsed'));
      const text = dumps.join('\n\n') + '\n';
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(goldenPath)) writeFileSync(goldenPath, text);
      assert.equal(text, readFileSync(goldenPath, 'utf8'));
    });
  }
});
