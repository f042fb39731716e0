/**
 * In-process DHCP cost per packet (no sockets): DORA exchanges for N distinct PXE clients
 * through processDatagram and the SQLite store on a temp file (WAL fsync included).
 *   node --import tsx bench/dhcp-micro.ts [N=20000] [CONC=64] [SYNC_INTERVAL_MS] [RATE=0] [CHECKPOINT_MS]
 * SYNC_INTERVAL_MS, CHECKPOINT_MS: the SQLite store's fsync pacing and worker checkpoint period
 * ('-' or omitted: the store's defaults; CHECKPOINT_MS 0: SQLite's own checkpoints in COMMIT).
 * RATE 0: closed loop, CONC exchanges in flight (CPU cost at saturation).
 * RATE > 0: open loop like perfdhcp, a new DORA every 1/RATE s whatever is in flight (CPU cost
 * and REQUEST→ACK latency at a moderate rate; CONC is ignored).
 * Prints CPU µs per DORA (process CPU: main thread + the thread pool doing the fsyncs) and
 * DORA/s of one core. A profiling aid for bench/dhcp.sh.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dhcpSchema } from '../src/config/sections/dhcp';
import { networkSchema } from '../src/config/sections/network';
import { encodePacket, type DhcpPacket } from '../src/dhcp/packet';
import { processDatagram } from '../src/dhcp/handler';
import { createHandlerContext } from '../src/dhcp/server';
import { silentLogger } from '../src/log';
import { openSqliteStore } from '../src/store/sqlite';

const N = Number(process.argv[2] ?? 20000);
const CONC = Number(process.argv[3] ?? 64);
const SYNC_INTERVAL_MS = process.argv[4] === undefined || process.argv[4] === '-' ? undefined : Number(process.argv[4]);
const RATE = Number(process.argv[5] ?? 0);
const CHECKPOINT_MS = process.argv[6] === undefined || process.argv[6] === '-' ? undefined : Number(process.argv[6]);

function req(type: number, i: number, extra: [number, Buffer][] = []): Buffer {
  const chaddr = Buffer.alloc(16);
  chaddr.writeUInt32BE(0x52540000 + (i >>> 16), 0);
  chaddr.writeUInt16BE(i & 0xffff, 4);
  const p: DhcpPacket = {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid: i,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '198.19.0.2',
    chaddr,
    sname: '',
    file: '',
    options: new Map<number, Buffer>([
      [53, Buffer.from([type])],
      [60, Buffer.from('PXEClient:Arch:00007:UNDI:003016')],
      [93, Buffer.from([0, 7])],
      [94, Buffer.from([1, 3, 1])],
      ...extra,
    ]),
  };
  const e = encodePacket(p, 1500);
  if (!e.ok) throw new Error(e.message);
  return e.bytes;
}

/** Offset of option `code`'s value in an encoded packet (options field only). */
function optionValueOffset(buf: Buffer, code: number): number {
  for (let i = 240; i < buf.length && buf[i] !== 255; i += buf[i] === 0 ? 1 : 2 + buf[i + 1]!)
    if (buf[i] === code) return i + 2;
  throw new Error(`option ${code} not found`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-micro-'));
  const store = openSqliteStore(join(dir, 'kickstand.db'), {
    syncIntervalMs: SYNC_INTERVAL_MS,
    checkpointPeriodMs: CHECKPOINT_MS,
  });
  const dhcp = dhcpSchema.parse({ unknownHosts: 'discover' });
  const network = networkSchema.parse({
    address: '198.19.0.1',
    subnet: '198.19.0.0/16',
    pool: { start: '198.19.1.1', end: '198.19.254.254' },
    gateway: '198.19.0.1',
  });
  const ctx = createHandlerContext({
    config: { dhcp, network, http: { publicUrl: 'http://198.19.0.1:8080' } },
    store,
    log: silentLogger(),
    now: Date.now,
  });
  await ctx.book.load();
  const route = {
    broadcast: '198.19.255.255',
    serverPort: 67,
    clientPort: 68,
    from: { address: '198.19.0.2', port: 67 },
    viaPxePort: false,
  };
  // Requests are built before the clock starts (the client's work is not the server's cost);
  // each REQUEST gets the offered address written into its option 50 in place.
  const discovers = Array.from({ length: N }, (_, i) => req(1, i));
  const sid: [number, Buffer] = [54, Buffer.from([198, 19, 0, 1])];
  const requests = Array.from({ length: N }, (_, i) => req(3, i, [[50, Buffer.alloc(4)], sid]));
  const at50 = optionValueOffset(requests[0]!, 50);
  let raSum = 0;
  let raMax = 0;
  const one = async (i: number) => {
    const o = await processDatagram(ctx, discovers[i]!, route);
    if (o.kind !== 'send') throw new Error(`no offer: ${o.reason}`);
    const request = requests[i]!;
    o.bytes.copy(request, at50, 16, 20); // yiaddr
    const t = performance.now();
    const a = await processDatagram(ctx, request, route);
    const dt = performance.now() - t;
    raSum += dt;
    if (dt > raMax) raMax = dt;
    if (a.kind !== 'send' || a.reply !== 'ACK') throw new Error(`no ack: ${a.kind === 'drop' ? a.reason : a.reply}`);
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  if (RATE > 0) {
    const inflight: Promise<void>[] = [];
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(N, Math.floor(((performance.now() - t0) * RATE) / 1000));
        while (next < due) inflight.push(one(next++));
        if (next >= N) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    await Promise.all(inflight);
  } else {
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (next < N) await one(next++);
      }),
    );
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${N} DORA (${RATE > 0 ? `rate ${RATE}/s` : `conc ${CONC}`}, sync interval ${SYNC_INTERVAL_MS ?? 'default'}, checkpoints ${CHECKPOINT_MS ?? 'default'}): wall ${ms.toFixed(0)} ms, ` +
      `CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / N).toFixed(1)} CPU µs/DORA (user ${(cpu.user / N).toFixed(1)}, sys ${(cpu.system / N).toFixed(1)}) ` +
      `→ ${((N * 1000) / cpuMs).toFixed(0)} DORA/s per CPU-second; REQUEST→ACK avg ${(raSum / N).toFixed(2)} ms, max ${raMax.toFixed(1)} ms`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

void main();
