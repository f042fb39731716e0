/**
 * In-process DHCP cost per packet (no sockets): DORA exchanges for N distinct PXE clients
 * through processDatagram and the SQLite store on a temp file, CONC exchanges in flight.
 *   node --import tsx bench/dhcp-micro.ts [N=20000] [CONC=64]
 * Prints µs per packet and DORA/s of one core. A profiling aid for bench/dhcp.sh.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dhcpSchema } from '../src/config/sections/dhcp';
import { networkSchema } from '../src/config/sections/network';
import { encodePacket, decodePacket, type DhcpPacket } from '../src/dhcp/packet';
import { processDatagram } from '../src/dhcp/handler';
import { createHandlerContext } from '../src/dhcp/server';
import { silentLogger } from '../src/log';
import { openSqliteStore } from '../src/store/sqlite';

const N = Number(process.argv[2] ?? 20000);
const CONC = Number(process.argv[3] ?? 64);

function req(type: number, i: number, extra: [number, Buffer][] = []): Buffer {
  const chaddr = Buffer.alloc(16);
  chaddr.writeUInt32BE(0x52540000 + (i >>> 16), 0);
  chaddr.writeUInt16BE(i & 0xffff, 4);
  const p: DhcpPacket = {
    op: 1, htype: 1, hlen: 6, hops: 1, xid: i, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '198.19.0.2',
    chaddr, sname: '', file: '',
    options: new Map<number, Buffer>([[53, Buffer.from([type])], [60, Buffer.from('PXEClient:Arch:00007:UNDI:003016')], [93, Buffer.from([0, 7])], [94, Buffer.from([1, 3, 1])], ...extra]),
  };
  const e = encodePacket(p, 1500);
  if (!e.ok) throw new Error(e.message);
  return e.bytes;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-micro-'));
  const store = openSqliteStore(join(dir, 'kickstand.db'));
  const dhcp = dhcpSchema.parse({ unknownHosts: 'discover' });
  const network = networkSchema.parse({ address: '198.19.0.1', subnet: '198.19.0.0/16', pool: { start: '198.19.1.1', end: '198.19.254.254' }, gateway: '198.19.0.1' });
  const ctx = createHandlerContext({ config: { dhcp, network, http: { publicUrl: 'http://198.19.0.1:8080' } }, store, log: silentLogger(), now: Date.now });
  await ctx.book.load();
  const route = { broadcast: '198.19.255.255', serverPort: 67, clientPort: 68, from: { address: '198.19.0.2', port: 67 }, viaPxePort: false };
  const one = async (i: number) => {
    const o = await processDatagram(ctx, req(1, i), route);
    if (o.kind !== 'send') throw new Error(`no offer: ${o.reason}`);
    const d = decodePacket(o.bytes);
    if (!d.ok) throw new Error('bad offer');
    const a = await processDatagram(ctx, req(3, i, [[50, Buffer.from(d.packet.yiaddr.split('.').map(Number))], [54, Buffer.from([198, 19, 0, 1])]]), route);
    if (a.kind !== 'send' || a.reply !== 'ACK') throw new Error(`no ack: ${a.kind === 'drop' ? a.reason : a.reply}`);
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < N) await one(next++);
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${N} DORA (conc ${CONC}): wall ${ms.toFixed(0)} ms, CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / (2 * N)).toFixed(1)} CPU µs/packet ` +
      `→ ${((N * 1000) / cpuMs).toFixed(0)} DORA/s per CPU-second`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

void main();
