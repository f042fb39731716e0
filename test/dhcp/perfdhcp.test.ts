/**
 * perfdhcp (ISC Kea's load generator, relay mode) against the daemon in a namespace:
 * a modest fixed rate with zero drops, and lease durability across SIGKILL under load
 * (reliability G4): every ACK captured on the wire must be a bound lease in the store.
 * No timing assertions: the rate is an input, drops and lost leases are the outputs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { startDaemon } from './helpers/daemon';
import { capturedAcks } from './helpers/pcap';
import { exited } from '../helpers/capture';

const why = missing({ root: true, binaries: ['perfdhcp', 'tcpdump', 'ip'] });
const hex = (s: string) => Buffer.from(s).toString('hex');
const PXE_OPTS = ['-o', `60,${hex('PXEClient:Arch:00007:UNDI:003016')}`, '-o', '93,0007', '-o', '94,010301'];
const CONFIG = {
  dhcp: { unknownHosts: 'discover' },
  network: {
    address: '198.19.0.1',
    subnet: '198.19.0.0/16',
    pool: { start: '198.19.1.1', end: '198.19.254.254' },
    gateway: '198.19.0.1',
    leaseTime: 3600,
  },
};

/** perfdhcp's two "drops:" lines (DISCOVER-OFFER, REQUEST-ACK) and "received packets:". */
function stats(out: string): { drops: number[]; received: number[] } {
  const nums = (re: RegExp) => [...out.matchAll(re)].map((m) => Number(m[1]));
  return { drops: nums(/^drops: (\d+)/gm), received: nums(/^received packets: (\d+)/gm) };
}

describe('perfdhcp against the daemon', { skip: why }, () => {
  const lab = new Lab();
  let srv: Netns;
  let cli: Netns;
  let ifc: string;
  before(() => {
    const tag = uniqueTag('kf');
    srv = lab.addNamespace(`${tag}s`);
    cli = lab.addNamespace(`${tag}c`);
    ifc = `${tag}c0`;
    lab.link(srv, `${tag}s0`, '198.19.0.1/16', cli, ifc, '198.19.0.2/16');
  });
  after(async () => {
    await lab.cleanup();
  });

  it('300 DORA/s for 10 s from 3,000 PXE clients: zero drops, every ACK a committed lease', async () => {
    const daemon = await startDaemon(lab, srv, CONFIG);
    // Warm-up (JIT, first WAL growth) with other clients; not measured.
    cli.exec(
      'perfdhcp',
      [
        '-4',
        '-R',
        '200',
        '-b',
        'mac=00:0c:02:00:00:00',
        ...PXE_OPTS,
        '-r',
        '50',
        '-p',
        '2',
        '-W',
        '200000',
        '198.19.0.1',
      ],
      { timeoutMs: 30_000 },
    );
    const out = cli.exec(
      'perfdhcp',
      ['-4', '-R', '3000', ...PXE_OPTS, '-r', '300', '-p', '10', '-W', '500000', '198.19.0.1'],
      { timeoutMs: 60_000 },
    );
    const s = stats(out);
    assert.equal(s.drops.length, 2, out);
    assert.deepEqual(s.drops, [0, 0], `drops (DO, RA):\n${out}`);
    assert.ok(s.received[1]! >= 2500, `ACKs received: ${s.received[1]}`);
    daemon.proc.kill('SIGTERM');
    await exited(daemon.proc);
    const store = openSqliteStore(daemon.db);
    try {
      const bound = (await store.leases.list()).filter((l) => l.state === 'bound');
      assert.ok(bound.length >= s.received[1]!, `bound leases ${bound.length} >= ACKs ${s.received[1]}`);
    } finally {
      await store.close();
    }
  });

  it('SIGKILL under load, 3 cycles: every ACK seen on the wire is a bound lease after restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-kill-'));
    let total = 0;
    for (let cycle = 0; cycle < 3; cycle += 1) {
      const daemon = await startDaemon(lab, srv, CONFIG, dir);
      const cap = join(dir, `acks-${cycle}.pcap`);
      const tcpdump = lab.spawnIn(cli, 'tcpdump', [
        '-i',
        ifc,
        '-U',
        '-n',
        '-s',
        '0',
        '-w',
        cap,
        'udp src port 67 and dst host 198.19.0.2',
      ]);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
        tcpdump.stderr?.on(
          'data',
          (d: Buffer) => d.toString().includes('listening on') && (clearTimeout(t), resolve()),
        );
      });
      // A different client range per cycle (perfdhcp -b mac= base) so each cycle adds leases.
      const perf = lab.spawnIn(cli, 'perfdhcp', [
        '-4',
        '-R',
        '2000',
        '-b',
        `mac=00:0c:01:${cycle.toString(16).padStart(2, '0')}:00:00`,
        ...PXE_OPTS,
        '-r',
        '400',
        '-p',
        '4',
        '-W',
        '200000',
        '198.19.0.1',
      ]);
      await new Promise((r) => setTimeout(r, 1000 + Math.floor(Math.random() * 2000)));
      daemon.proc.kill('SIGKILL');
      await exited(daemon.proc);
      await exited(perf);
      await new Promise((r) => setTimeout(r, 300));
      tcpdump.kill('SIGINT');
      await exited(tcpdump);
      const acks = capturedAcks(cap);
      assert.ok(acks.length > 50, `cycle ${cycle}: ACKs captured before the kill: ${acks.length}`);
      total += acks.length;
      // Restart on the same file: it must come up, and every ACKed lease must be there.
      const again = await startDaemon(lab, srv, CONFIG, dir);
      again.proc.kill('SIGTERM');
      await exited(again.proc);
      const store = openSqliteStore(join(dir, 'kickstand.db'));
      try {
        const lost: string[] = [];
        for (const a of acks) {
          const l = await store.leases.get(a.ip);
          if (l?.state !== 'bound' || l.mac !== a.mac) lost.push(`${a.ip} ${a.mac}`);
        }
        assert.deepEqual(lost, [], `cycle ${cycle}: ACKed leases missing after SIGKILL`);
        const macs = (await store.leases.list()).filter((l) => l.state === 'bound').map((l) => l.mac);
        assert.equal(new Set(macs).size, macs.length, 'no client holds two bound leases');
      } finally {
        await store.close();
      }
    }
    assert.ok(total > 150);
  });
});
