/**
 * In-process fuzzing of decode → decide → encode (reliability G1): random and mutated
 * datagrams through the real handler and the real SQLite store (':memory:'). Zero uncaught
 * exceptions; every reply must decode again. The slowest input is reported as a diagnostic
 * (no timing assertion in tests). KS_FUZZ_N (default 100000) and KS_FUZZ_SEED tune it.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dhcpSchema } from '../../src/config/sections/dhcp';
import { MessageType as T } from '../../src/dhcp/constants';
import { processDatagram } from '../../src/dhcp/handler';
import { decodePacket, encodePacket } from '../../src/dhcp/packet';
import { createHandlerContext } from '../../src/dhcp/server';
import { silentLogger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import { GOLDEN, MALFORMED } from '../fixtures/dhcp/golden';
import { NETWORK, ip4, request } from './helpers/harness';
import { readPcap } from './helpers/pcap';

const N = Number(process.env.KS_FUZZ_N ?? 100_000);
const SEED = Number(process.env.KS_FUZZ_SEED ?? 0x5eed1234);

/** xorshift32: deterministic, so a failure names its seed and index. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return { next, int: (n: number) => next() % n, pick: <T>(a: readonly T[]): T => a[next() % a.length]! };
}

function corpus(): Buffer[] {
  const macs = ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:aa:bb:cc'];
  const seeds: Buffer[] = GOLDEN.map((g) => g.bytes).concat(MALFORMED.map((m) => m.bytes));
  const dir = join(__dirname, '../fixtures/dhcp/captures');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap')))
    for (const d of readPcap(join(dir, f))) seeds.push(d.payload);
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.bin'))) seeds.push(readFileSync(join(dir, f)));
  for (const mac of macs) {
    for (const type of [T.DISCOVER, T.REQUEST, T.DECLINE, T.RELEASE, T.INFORM]) {
      seeds.push(
        request({
          type,
          mac,
          options: [
            [60, 'PXEClient:Arch:00000:UNDI:002001'],
            [93, [0, 0]],
            [54, ip4('198.18.0.1')],
            [50, ip4('198.18.0.100')],
          ],
        }),
      );
      seeds.push(
        request({
          type,
          mac,
          ciaddr: '198.18.0.100',
          options: [
            [77, 'iPXE'],
            [54, ip4('198.18.0.1')],
          ],
        }),
      );
      seeds.push(
        request({
          type,
          mac,
          giaddr: '198.18.64.1',
          options: [
            [82, [1, 2, 0, 1, 5, 4, 198, 18, 64, 0]],
            [57, [2, 64]],
          ],
        }),
      );
    }
  }
  return seeds;
}

function mutate(r: ReturnType<typeof rng>, seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  const ops = 1 + r.int(4);
  let out = b;
  for (let i = 0; i < ops; i += 1) {
    switch (r.int(8)) {
      case 0: // flip random bytes
        for (let k = 0; k < 1 + r.int(8); k += 1) if (out.length) out[r.int(out.length)] = r.int(256);
        break;
      case 1: // truncate
        out = out.subarray(0, r.int(out.length + 1));
        break;
      case 2: // append random bytes
        out = Buffer.concat([out, Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256)))]);
        break;
      case 3: // smash an option length byte in the options area
        if (out.length > 242) out[240 + r.int(out.length - 240)] = r.pick([0, 1, 2, 4, 127, 254, 255]);
        break;
      case 4: // header fields: op, htype, hlen, hops, flags
        if (out.length > 11) out[r.pick([0, 1, 2, 3, 10])] = r.int(256);
        break;
      case 5: // insert an interesting option right after the cookie
        if (out.length >= 240) {
          const code = r.pick([52, 53, 50, 54, 55, 57, 60, 61, 77, 82, 93, 94, 97, 118, 175, 12, 81]);
          const len = r.pick([0, 1, 2, 4, 16, 17, 253, 255]);
          const v = Array.from({ length: len }, () => r.int(256));
          out = Buffer.concat([out.subarray(0, 240), Buffer.from([code, len, ...v]), out.subarray(240)]);
        }
        break;
      case 6: // overload into file/sname with random content there
        if (out.length >= 240) {
          out = Buffer.from(out);
          for (let k = 44; k < 236; k += 1) if (r.int(4) === 0) out[k] = r.int(256);
          out = Buffer.concat([out.subarray(0, 240), Buffer.from([52, 1, r.int(5)]), out.subarray(240)]);
        }
        break;
      default: // splice two seeds
        break;
    }
  }
  return out;
}

function randomDatagram(r: ReturnType<typeof rng>): Buffer {
  const len = r.pick([0, 1, 100, 235, 236, 239, 240, 241, 300, 548, 576, 1500]) + r.int(3);
  const b = Buffer.from(Array.from({ length: len }, () => r.int(256)));
  if (len >= 240 && r.int(2) === 0) {
    b[0] = 1;
    b[2] = r.int(2) ? 6 : r.int(256);
    b.writeUInt32BE(0x63825363, 236);
  }
  return b;
}

describe('dhcp fuzz: decode → decide → encode', () => {
  for (const mode of ['authoritative', 'proxy'] as const) {
    it(`${mode}: ${N / 2} random and mutated datagrams, no exception, every reply decodes`, async (t) => {
      const store = openSqliteStore(':memory:');
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
      await store.hosts.create({
        name: 'node2',
        macs: ['52:54:00:00:00:02'],
        profile: 'default',
        role: 'worker',
        ipv4: '198.18.0.50',
        vars: {},
        netboot: false,
        state: 'registered',
      });
      const dhcp = dhcpSchema.parse({
        mode,
        unknownHosts: 'discover',
        relayed: [{ subnet: '198.18.64.0/24', pool: { start: '198.18.64.10', end: '198.18.64.12' } }],
      });
      let clock = Date.UTC(2026, 0, 1);
      const ctx = createHandlerContext({
        config: { dhcp, network: NETWORK, http: { publicUrl: 'http://198.18.0.1:8080' } },
        store,
        log: silentLogger(),
        now: () => clock,
      });
      await ctx.book.load();
      const r = rng(SEED ^ (mode === 'proxy' ? 0x9e3779b9 : 0));
      const seeds = corpus();
      let replies = 0;
      let malformed = 0;
      let slowest: { ms: number; index: number; input: Buffer } = { ms: 0, index: -1, input: Buffer.alloc(0) };
      try {
        for (let i = 0; i < N / 2; i += 1) {
          const input = r.int(4) === 0 ? randomDatagram(r) : mutate(r, r.pick(seeds));
          clock += r.int(5000);
          const t0 = performance.now();
          let out;
          try {
            out = await processDatagram(ctx, input, {
              broadcast: '198.18.0.255',
              serverPort: 67,
              clientPort: 68,
              from: { address: '198.18.0.9', port: 68 },
              viaPxePort: r.int(8) === 0,
            });
          } catch (err) {
            assert.fail(`seed ${SEED} index ${i}: ${(err as Error).stack}\ninput ${input.toString('hex')}`);
          }
          const ms = performance.now() - t0;
          if (ms > slowest.ms) slowest = { ms, index: i, input };
          if (out.kind === 'send') {
            replies += 1;
            const back = decodePacket(out.bytes);
            assert.ok(back.ok, `reply to input ${i} does not decode`);
            assert.ok(out.bytes.length <= 1472);
          } else if (out.malformed) malformed += 1;
          // Codec invariant: whatever decodes, re-encodes without throwing.
          const d = decodePacket(input);
          if (d.ok) encodePacket(d.packet, 1500);
        }
        // Re-time the slowest input alone (best of 3): tells a pathological input from a GC/JIT
        // pause or a busy machine. Reported, not asserted (no timing assertions in tests).
        let again = Infinity;
        for (let k = 0; k < 3; k += 1) {
          const t0 = performance.now();
          await processDatagram(ctx, slowest.input, {
            broadcast: '198.18.0.255',
            serverPort: 67,
            clientPort: 68,
            from: { address: '198.18.0.9', port: 68 },
            viaPxePort: false,
          });
          again = Math.min(again, performance.now() - t0);
        }
        t.diagnostic(
          `seed=${SEED} inputs=${N / 2} replies=${replies} malformed=${malformed} slowest=${slowest.ms.toFixed(2)}ms (#${slowest.index}), same input re-run alone: ${again.toFixed(3)}ms`,
        );
      } finally {
        await store.close();
      }
      assert.ok(replies > 100, 'the fuzzer reaches the reply path');
      assert.ok(malformed > 100, 'the fuzzer reaches the malformed path');
    });
  }
});
