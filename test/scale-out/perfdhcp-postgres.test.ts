/**
 * Two `kickstand serve` daemons (buildDaemon, each with its own relay-mode DHCP socket) on one
 * real PostgreSQL, and two perfdhcp relays racing for one 40-address pool through them, with
 * overlapping client MACs (docs/scale-out.md). Every ACK on the wire is captured; afterwards:
 * no address was ACKed to two clients, no client was ACKed two addresses (the same MAC through
 * both daemons gets one address), and every ACK is a bound row in the database.
 * A second race forces collisions: both daemons have one name (store.daemonName, so one pool
 * scan order, dhcp/leases.ts poolSeed) and disjoint clients, so that without reserved offers
 * both offer the same addresses to different clients and one REQUEST of each pair is NAKed;
 * with offers reserved in the database (dhcp.reserveOffers, docs/scale-out.md "Offers") no
 * NAK is sent at all. KS_TEST_OFFERS=memory runs it with reserveOffers: false, to see it fail.
 * Topology: namespace S holds PostgreSQL (127.0.0.1) and both daemons (198.18.1.1, 198.18.2.1);
 * namespaces A and B each hold a perfdhcp relay (198.18.1.2, 198.18.2.2). No timing assertion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon } from '../dhcp/helpers/daemon';
import { MessageType } from '../../src/dhcp/constants';
import { capturedAcks, capturedReplies } from '../dhcp/helpers/pcap';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';
import { exited, startTcpdump } from '../helpers/capture';

const why = missing({ root: true, binaries: ['perfdhcp', 'tcpdump', 'ip'] }) ?? postgresSkipReason();

describe('two daemons on one PostgreSQL, two perfdhcp relays racing for one pool', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-pg-race-'));
  let srv: Netns;
  let cliA: Netns;
  let cliB: Netns;
  let tag: string;
  let pg: PrivatePostgres;
  before(async () => {
    tag = uniqueTag('kpg');
    srv = lab.addNamespace(`${tag}s`);
    cliA = lab.addNamespace(`${tag}a`);
    cliB = lab.addNamespace(`${tag}b`);
    lab.link(srv, `${tag}s1`, '198.18.1.1/24', cliA, `${tag}a0`, '198.18.1.2/24');
    lab.link(srv, `${tag}s2`, '198.18.2.1/24', cliB, `${tag}b0`, '198.18.2.2/24');
    pg = new PrivatePostgres(pgBinDir()!, { netns: srv.name });
    await pg.start();
    pg.psql('CREATE DATABASE race');
  });
  after(async () => {
    await pg?.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts daemons A and B with `config(address)`, captures each relay's link, runs one
   * perfdhcp per relay (60 clients from MAC `bases[i]`, 100 exchanges/s for 4 s), stops all and
   * returns the two capture files.
   */
  async function race(
    name: string,
    config: (address: string) => Parameters<typeof startDaemon>[2],
    bases: [string, string],
  ): Promise<[string, string]> {
    const a = await startDaemon(lab, srv, config('198.18.1.1'), mkdtempSync(join(dir, `${name}a-`)));
    const b = await startDaemon(lab, srv, config('198.18.2.1'), mkdtempSync(join(dir, `${name}b-`)));
    const caps: [string, string] = [join(dir, `${name}a.pcap`), join(dir, `${name}b.pcap`)];
    const dumps = [
      await startTcpdump(lab, cliA, `${tag}a0`, caps[0]),
      await startTcpdump(lab, cliB, `${tag}b0`, caps[1]),
    ];
    const perf = (ns: Netns, server: string, base: string) =>
      lab.spawnIn(ns, 'perfdhcp', [
        '-4',
        '-R',
        '60',
        '-b',
        `mac=${base}`,
        '-r',
        '100',
        '-p',
        '4',
        '-W',
        '200000',
        server,
      ]);
    const runs = [perf(cliA, '198.18.1.1', bases[0]), perf(cliB, '198.18.2.1', bases[1])];
    await Promise.all(runs.map(exited));
    await new Promise((r) => setTimeout(r, 300));
    for (const d of dumps) d.kill('SIGINT');
    await Promise.all(dumps.map(exited));
    for (const d of [a, b]) d.proc.kill('SIGTERM');
    await Promise.all([a, b].map((d) => exited(d.proc)));
    return caps;
  }

  it('zero duplicate bindings; one address per client; every ACK committed', async (t) => {
    const daemonConfig = (address: string) => ({
      store: { kind: 'postgres', url: `postgres://kickstand@127.0.0.1:${pg.port}/race` },
      dhcp: { unknownHosts: 'discover', bind: address, warmUp: false },
      network: {
        address,
        subnet: '198.18.0.0/16',
        pool: { start: '198.18.100.1', end: '198.18.100.40' },
        gateway: address,
        leaseTime: 3600,
      },
    });
    // 60 clients per relay, 40 of them through both (perfdhcp walks its MACs in order, so the
    // bases differ: each daemon meets another client first).
    const [capA, capB] = await race('', daemonConfig, ['00:0c:0f:00:00:00', '00:0c:0f:00:00:14']);
    const fromA = capturedAcks(capA);
    const fromB = capturedAcks(capB);
    assert.ok(fromA.length > 0 && fromB.length > 0, `both daemons ACKed: A ${fromA.length}, B ${fromB.length}`);
    const ipsA = new Set(fromA.map((x) => x.ip));
    const shared = new Set(fromB.map((x) => x.ip).filter((ip) => ipsA.has(ip)));
    t.diagnostic(
      `clients A ${new Set(fromA.map((x) => x.mac)).size}, B ${new Set(fromB.map((x) => x.mac)).size}; addresses ACKed by both daemons: ${shared.size}`,
    );
    const macsA = new Set(fromA.map((x) => x.mac));
    const both = new Set(fromB.map((x) => x.mac).filter((m) => macsA.has(m)));
    assert.ok(both.size > 0, 'some client was ACKed through both daemons');
    const byIp = new Map<string, string>();
    const byMac = new Map<string, string>();
    for (const { ip, mac } of [...fromA, ...fromB]) {
      assert.equal(byIp.get(ip) ?? mac, mac, `${ip} ACKed to two clients: ${byIp.get(ip)} and ${mac}`);
      assert.equal(byMac.get(mac) ?? ip, ip, `${mac} ACKed two addresses: ${byMac.get(mac)} and ${ip}`);
      byIp.set(ip, mac);
      byMac.set(mac, ip);
    }
    const rows = pg.psql("SELECT ip, mac FROM leases WHERE state = 'bound'", 'race');
    const db = new Map(rows.map(([ip, mac]) => [ip!, mac!]));
    for (const [ip, mac] of byIp) assert.equal(db.get(ip), mac, `ACKed ${ip} → ${mac} is the database's binding`);
    const macs = rows.map(([, mac]) => mac);
    assert.equal(new Set(macs).size, macs.length, 'no client holds two bound leases in the database');
    assert.ok(byIp.size <= 40);
    t.diagnostic(`ACKs: A ${fromA.length}, B ${fromB.length}; addresses bound: ${byIp.size} of 40`);
  });
  it('same pool scan order, disjoint clients: offers reserved, zero NAKs, zero duplicate bindings', async (t) => {
    pg.psql('CREATE DATABASE twins');
    const memory = process.env.KS_TEST_OFFERS === 'memory';
    const daemonConfig = (address: string) => ({
      // One name for both: one poolSeed, so both scan the pool in the same order and collide.
      store: { kind: 'postgres', url: `postgres://kickstand@127.0.0.1:${pg.port}/twins`, daemonName: 'twin' },
      dhcp: { unknownHosts: 'discover', bind: address, warmUp: false, ...(memory ? { reserveOffers: false } : {}) },
      network: {
        address,
        subnet: '198.18.0.0/16',
        pool: { start: '198.18.100.1', end: '198.18.100.150' },
        gateway: address,
        leaseTime: 3600,
      },
    });
    // 60 clients per relay, none through both (every NAK is then a collision of two daemons'
    // offers); 150 addresses, so the pool never runs out.
    const [capA, capB] = await race('t', daemonConfig, ['00:0c:0f:00:00:00', '00:0c:0f:00:01:00']);
    const acks = [...capturedAcks(capA), ...capturedAcks(capB)];
    const naks = [...capturedReplies(capA, MessageType.NAK), ...capturedReplies(capB, MessageType.NAK)];
    t.diagnostic(
      `offers ${memory ? 'in memory only' : 'reserved'}: ACKs ${acks.length}, NAKs ${naks.length}, clients ACKed ${new Set(acks.map((x) => x.mac)).size}`,
    );
    assert.ok(acks.length >= 60, `both daemons ACKed (${acks.length})`);
    const byIp = new Map<string, string>();
    for (const { ip, mac } of acks) {
      assert.equal(byIp.get(ip) ?? mac, mac, `${ip} ACKed to two clients: ${byIp.get(ip)} and ${mac}`);
      byIp.set(ip, mac);
    }
    assert.equal(
      naks.length,
      0,
      `no REQUEST NAKed for a collision (NAKed clients: ${[...new Set(naks.map((x) => x.mac))].slice(0, 5).join(', ')})`,
    );
    const rows = pg.psql("SELECT ip, mac FROM leases WHERE state = 'bound'", 'twins');
    const db = new Map(rows.map(([ip, mac]) => [ip!, mac!]));
    for (const [ip, mac] of byIp) assert.equal(db.get(ip), mac, `ACKed ${ip} → ${mac} is the database's binding`);
  });
});
