/**
 * Topology B (docs/scale-out.md): two `kickstand serve` daemons on one segment and one
 * PostgreSQL. Real clients (busybox udhcpc) bind through daemon A; A is killed with SIGKILL
 * (the process this test started, by PID); each client keeps its address: its renewal to A
 * gets no answer, it rebinds by broadcast (RFC 2131 §4.4.5, at T2 = 87.5 % of the lease) and B,
 * which never saw those bindings, extends them from the database. No client is ever without a
 * lease (no `deconfig` after `bound`), and the database holds one binding per client.
 * Topology: namespace S holds a bridge (the segment) and PostgreSQL (198.19.172.250); A
 * (198.19.172.1) and B (198.19.172.2) in their own namespaces; three clients, one namespace
 * each. The lease is the shortest the config allows (60 s): the test runs about 75 s. The
 * takeover time is printed, not asserted (docs/scale-out.md records it).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon, type Daemon } from '../dhcp/helpers/daemon';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';
import { exited } from '../helpers/capture';

const why = missing({ root: true, binaries: ['busybox', 'ip'] }) ?? postgresSkipReason();
const A = '198.19.172.1';
const B = '198.19.172.2';
const DB = '198.19.172.250';
const LEASE = 60;
const CLIENTS = ['52:54:00:17:20:01', '52:54:00:17:20:02', '52:54:00:17:20:03'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ScriptEvent {
  event: string;
  ip: string;
  server: string;
  at: number;
}

describe('HA pair on one PostgreSQL: kill -9 of one daemon', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-pg-ha-'));
  let seg: Netns;
  let nsA: Netns;
  let nsB: Netns;
  let tag: string;
  let pg: PrivatePostgres;
  const clients: { ns: Netns; ifc: string; mac: string; log: string }[] = [];

  before(async () => {
    tag = uniqueTag('kha');
    seg = lab.addNamespace(`${tag}s`);
    seg.exec('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    seg.exec('ip', ['addr', 'add', `${DB}/24`, 'dev', 'br0']);
    seg.exec('ip', ['link', 'set', 'br0', 'up']);
    const port = (ns: Netns, ifc: string, peer: string, addr: string | null) => {
      lab.link(seg, peer, null, ns, ifc, addr);
      seg.exec('ip', ['link', 'set', peer, 'master', 'br0']);
    };
    nsA = lab.addNamespace(`${tag}a`);
    nsB = lab.addNamespace(`${tag}b`);
    port(nsA, `${tag}a0`, `${tag}pa`, `${A}/24`);
    port(nsB, `${tag}b0`, `${tag}pb`, `${B}/24`);
    CLIENTS.forEach((mac, i) => {
      const ns = lab.addNamespace(`${tag}c${i}`);
      const ifc = `${tag}c${i}`;
      port(ns, ifc, `${tag}p${i}`, null);
      ns.exec('ip', ['link', 'set', ifc, 'address', mac]);
      clients.push({ ns, ifc, mac, log: join(dir, `client${i}.log`) });
    });
    pg = new PrivatePostgres(pgBinDir()!, { netns: seg.name, also: DB });
    await pg.start();
    pg.psql('CREATE DATABASE ha');
  });
  after(async () => {
    await pg?.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function events(log: string): ScriptEvent[] {
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [event, ip, server, at] = l.split(' ');
        return { event: event!, ip: ip ?? '', server: server ?? '', at: Number(at) };
      });
  }

  async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(250);
    }
  }

  it("the killed daemon's clients keep their addresses through the other", async (t) => {
    const config = (address: string) =>
      ({
        store: { kind: 'postgres', url: `postgres://kickstand@${DB}:${pg.port}/ha` },
        dhcp: { unknownHosts: 'discover', warmUp: false },
        network: {
          address,
          subnet: '198.19.172.0/24',
          pool: { start: '198.19.172.100', end: '198.19.172.149' },
          leaseTime: LEASE,
        },
      }) as Parameters<typeof startDaemon>[2];
    const a: Daemon = await startDaemon(lab, nsA, config(A), mkdtempSync(join(dir, 'a-')));
    const b: Daemon = await startDaemon(lab, nsB, config(B), mkdtempSync(join(dir, 'b-')));
    // B off the wire while the clients bind, so that all bind through A and B's lease book has
    // never seen their bindings (the hard case: B learns them from the database).
    nsB.exec('ip', ['link', 'set', `${tag}b0`, 'down']);
    const script = join(dir, 'udhcpc.sh');
    // The stand-in for a host's network configuration: the address on the interface, and a log.
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        'case "$1" in',
        '  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;',
        '  deconfig) ip addr flush dev "$interface" ;;',
        'esac',
        'echo "$1 ${ip:-} ${serverid:-} $(date +%s.%N)" >> "$KS_LOG"',
      ].join('\n') + '\n',
    );
    chmodSync(script, 0o755);
    for (const c of clients) {
      lab.spawnIn(c.ns, 'busybox', ['udhcpc', '-f', '-i', c.ifc, '-s', script, '-t', '10', '-T', '1', '-A', '2'], {
        env: { ...process.env, KS_LOG: c.log },
        stdio: 'ignore',
      });
    }
    await until(
      'every client bound through A',
      () => clients.every((c) => events(c.log).some((e) => e.event === 'bound')),
      30_000,
    );
    const bound = clients.map((c) => events(c.log).find((e) => e.event === 'bound')!);
    for (const e of bound) assert.equal(e.server, A, 'bound through A');
    assert.equal(new Set(bound.map((e) => e.ip)).size, clients.length, 'one address per client');
    nsB.exec('ip', ['link', 'set', `${tag}b0`, 'up']);

    // kill -9 of A: the process this test started, by PID.
    const killedAt = Date.now() / 1000;
    process.kill(a.proc.pid!, 'SIGKILL');
    await exited(a.proc);

    const takenOver = (c: (typeof clients)[number]) =>
      events(c.log).some((e) => e.at > killedAt && e.event === 'renew' && e.server === B);
    await until('every client renewed through B', () => clients.every(takenOver), (LEASE + 15) * 1000);

    clients.forEach((c, i) => {
      const after_ = events(c.log).filter((e) => e.at > bound[i]!.at);
      assert.ok(
        !after_.some((e) => e.event === 'deconfig' || e.event === 'leasefail'),
        `${c.mac} never lost its lease`,
      );
      const renewal = after_.find((e) => e.event === 'renew' && e.server === B)!;
      assert.equal(renewal.ip, bound[i]!.ip, `${c.mac} kept its address through B`);
      t.diagnostic(
        `${c.mac}: bound ${bound[i]!.ip} through A; renewed through B ${(renewal.at - killedAt).toFixed(1)} s after the kill, ${(renewal.at - bound[i]!.at).toFixed(1)} s after binding (T2 = ${LEASE * 0.875} s)`,
      );
    });
    const rows = pg.psql("SELECT ip, mac, expires_at FROM leases WHERE state = 'bound' ORDER BY ip", 'ha');
    assert.deepEqual(
      rows.map(([ip, mac]) => [ip, mac]),
      clients.map((c, i) => [bound[i]!.ip, c.mac]).sort((x, y) => x[0]!.localeCompare(y[0]!)),
      'one binding per client in the database',
    );
    for (const [ip, , exp] of rows) assert.ok(Number(exp) > killedAt * 1000, `${ip}'s lease extended by B`);
    assert.ok(!b.proc.killed && b.proc.exitCode === null, 'B still serving');
  });
});
