/**
 * A real relay (ISC dhcrelay -a) between two namespaces: the client behind it gets an address
 * from the relayed subnet; replies go to the relay (giaddr) on port 67. The relay adds option 82
 * (RFC 3046, circuit id = its client-side interface); the capture on the server side shows it
 * reached Kickstand and came back unchanged in every reply (RFC 3046 §2.2).
 *
 *   client ns ── 198.18.21.0/24 ── relay ns (dhcrelay) ── 198.18.20.0/24 ── server ns (daemon)
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Opt } from '../../src/dhcp/constants';
import { decodePacket, type DhcpPacket } from '../../src/dhcp/packet';
import { openSqliteStore } from '../../src/store/sqlite';
import { missing } from '../helpers/env';
import { Lab, uniqueTag } from '../helpers/netns';
import { startDaemon } from './helpers/daemon';
import { readPcap } from './helpers/pcap';

const why = missing({ root: true, binaries: ['busybox', 'dhcrelay', 'ip', 'tcpdump'] });

/** RFC 3046 §2.0: option 82 is a list of sub-options (code, length, value). */
function subOptions(v: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let i = 0; i + 2 <= v.length; i += 2 + v[i + 1]!) out.set(v[i]!, v.subarray(i + 2, i + 2 + v[i + 1]!));
  return out;
}

describe('relayed client (dhcrelay)', { skip: why }, () => {
  const lab = new Lab();
  after(async () => {
    await lab.cleanup();
  });

  it('udhcpc behind dhcrelay -a gets an address in the relayed subnet, recorded in the store; option 82 reaches Kickstand and is echoed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-relay-'));
    const tag = uniqueTag('kr');
    const srv = lab.addNamespace(`${tag}s`);
    const rel = lab.addNamespace(`${tag}r`);
    const cli = lab.addNamespace(`${tag}c`);
    lab.link(srv, `${tag}s0`, '198.18.20.1/24', rel, `${tag}r1`, '198.18.20.2/24');
    lab.link(rel, `${tag}r0`, '198.18.21.1/24', cli, `${tag}c0`, null);
    srv.exec('ip', ['route', 'add', '198.18.21.0/24', 'via', '198.18.20.2']);
    const daemon = await startDaemon(
      lab,
      srv,
      {
        dhcp: {
          unknownHosts: 'discover',
          relayed: [
            {
              subnet: '198.18.21.0/24',
              pool: { start: '198.18.21.100', end: '198.18.21.120' },
              gateway: '198.18.21.1',
              leaseTime: 900,
            },
          ],
        },
        network: {
          address: '198.18.20.1',
          subnet: '198.18.20.0/24',
          pool: { start: '198.18.20.100', end: '198.18.20.120' },
        },
      },
      dir,
    );
    const cap = join(dir, 'relay-upstream.pcap');
    const tcpdump = lab.spawnIn(rel, 'tcpdump', ['-i', `${tag}r1`, '-U', '-n', '-s', '0', '-w', cap, 'udp port 67']);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      tcpdump.stderr?.on('data', (d: Buffer) => d.toString().includes('listening on') && (clearTimeout(t), resolve()));
    });
    // -a: add the relay agent information option (circuit id = the interface the request came in on).
    lab.spawnIn(rel, 'dhcrelay', ['-4', '-d', '-q', '-a', '-id', `${tag}r0`, '-iu', `${tag}r1`, '198.18.20.1']);
    await new Promise((r) => setTimeout(r, 1000));
    const out = join(dir, 'udhcpc.env');
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    cli.exec('busybox', ['udhcpc', '-i', `${tag}c0`, '-n', '-q', '-f', '-t', '6', '-T', '1', '-s', script], {
      timeoutMs: 30_000,
    });
    assert.ok(existsSync(out), `udhcpc did not bind through the relay; daemon: ${daemon.stderr()}`);
    const env = Object.fromEntries(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.match(env.ip!, /^198\.18\.21\.(1[01]\d|120)$/);
    assert.equal(env.router, '198.18.21.1');
    assert.equal(env.lease, '900');
    assert.equal(env.serverid, '198.18.20.1');
    // The upstream side of the relay: requests carry option 82, and so does every reply.
    const upstream = (): DhcpPacket[] =>
      readPcap(cap).flatMap((d) => {
        const r = decodePacket(d.payload);
        return r.ok ? [r.packet] : [];
      });
    let seen = upstream();
    for (let i = 0; i < 50 && seen.filter((p) => p.op === 2).length < 2; i += 1) {
      await new Promise((r) => setTimeout(r, 100)); // tcpdump -U may lag on a loaded machine (bounded)
      seen = upstream();
    }
    const requests = seen.filter((p) => p.op === 1);
    const replies = seen.filter((p) => p.op === 2);
    assert.ok(
      requests.length >= 2 && replies.length >= 2,
      `captured ${requests.length} relayed requests and ${replies.length} replies`,
    );
    for (const q of requests) {
      assert.equal(q.giaddr, '198.18.21.1', 'relayed with giaddr');
      const o82 = q.options.get(Opt.RELAY_AGENT_INFO);
      assert.ok(o82, 'dhcrelay -a added option 82');
      assert.equal(
        subOptions(o82).get(1)?.toString('latin1'),
        `${tag}r0`,
        'circuit id: the relay interface facing the client',
      );
    }
    for (const a of replies) {
      const asked = requests.find((q) => q.xid === a.xid);
      assert.ok(asked, `reply xid ${a.xid} answers a relayed request`);
      assert.deepEqual(
        a.options.get(Opt.RELAY_AGENT_INFO),
        asked.options.get(Opt.RELAY_AGENT_INFO),
        'option 82 echoed unchanged',
      );
    }
    const store = openSqliteStore(daemon.db);
    try {
      assert.equal((await store.leases.get(env.ip!))?.state, 'bound');
    } finally {
      await store.close();
    }
  });
});
