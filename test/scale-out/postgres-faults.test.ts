/**
 * Faults between `kickstand serve` and its PostgreSQL, under a perfdhcp load (docs/scale-out.md):
 * - the server is stopped as by a crash (`pg_ctl -m immediate`) mid-load and started again;
 * - the database port is blocked (nftables inside the namespace: a network partition) and
 *   opened again.
 * During each the daemon sends no ACK for a lease it could not commit, and its log and /metrics
 * say why; afterwards it serves again by itself. Every ACK on the wire (captured) is a bound row
 * of that client in the database, no address was ACKed to two clients, no client two addresses.
 * Topology: namespace S holds PostgreSQL (127.0.0.1) and the daemon (198.19.170.1); namespace C
 * a perfdhcp relay (198.19.170.2). Bounded: two 12 s perfdhcp runs at 40 exchanges/s. No timing
 * assertion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startDaemon, type Daemon } from '../dhcp/helpers/daemon';
import { capturedAcks, type CapturedAck } from '../dhcp/helpers/pcap';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';
import { exited, startTcpdump } from '../helpers/capture';

const why = missing({ root: true, binaries: ['perfdhcp', 'tcpdump', 'ip', 'nft', 'curl'] }) ?? postgresSkipReason();
const SERVER = '198.19.170.1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one daemon on PostgreSQL: a database crash and a cut-off under load', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-pg-faults-'));
  let srv: Netns;
  let cli: Netns;
  let tag: string;
  let pg: PrivatePostgres;
  let daemon: Daemon;
  before(async () => {
    tag = uniqueTag('kpf');
    srv = lab.addNamespace(`${tag}s`);
    cli = lab.addNamespace(`${tag}c`);
    lab.link(srv, `${tag}s1`, `${SERVER}/24`, cli, `${tag}c0`, '198.19.170.2/24');
    pg = new PrivatePostgres(pgBinDir()!, { netns: srv.name });
    await pg.start();
    pg.psql('CREATE DATABASE faults');
    daemon = await startDaemon(
      lab,
      srv,
      {
        // A short timeout so that a partition is noticed quickly (store.timeoutMs).
        store: { kind: 'postgres', url: `postgres://kickstand@127.0.0.1:${pg.port}/faults`, timeoutMs: 1500 },
        dhcp: { unknownHosts: 'discover', bind: SERVER, warmUp: false },
        network: {
          address: SERVER,
          subnet: '198.19.170.0/24',
          pool: { start: '198.19.170.100', end: '198.19.170.199' },
          gateway: SERVER,
          leaseTime: 3600,
        },
      } as Parameters<typeof startDaemon>[2],
      mkdtempSync(join(dir, 'd-')),
    );
  });
  after(async () => {
    try {
      srv?.exec('nft', ['delete', 'table', 'inet', 'kspart']);
    } catch {
      /* not there */
    }
    await pg?.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function metric(name: string): number {
    const port = /"api":"http:\/\/127\.0\.0\.1:(\d+)\/api\/v1"/.exec(daemon.stderr())?.[1];
    const token = readFileSync(join(daemon.dir, 'api-token'), 'utf8').trim();
    const text = srv.exec('curl', ['-sf', '-H', `authorization: Bearer ${token}`, `http://127.0.0.1:${port}/metrics`]);
    const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  /**
   * 12 s of perfdhcp (100 clients, 40 exchanges/s) with `fault` done 3 s in; returns the
   * ACKs on the wire and when the fault ended (epoch s).
   */
  async function underLoad(name: string, fault: () => Promise<void>): Promise<{ all: CapturedAck[]; healed: number }> {
    const cap = join(dir, `${name}.pcap`);
    const dump = await startTcpdump(lab, cli, `${tag}c0`, cap);
    const perf = lab.spawnIn(cli, 'perfdhcp', ['-4', '-R', '100', '-r', '40', '-p', '12', '-W', '500000', SERVER]);
    let healed = 0;
    try {
      await sleep(3000);
      await fault();
      healed = Date.now() / 1000;
    } finally {
      await Promise.race([exited(perf), sleep(30_000)]);
      perf.kill('SIGKILL');
      await sleep(300);
      dump.kill('SIGINT');
      await exited(dump);
    }
    return { all: capturedAcks(cap), healed };
  }

  function checkBindings(t: TestContext, all: CapturedAck[]): void {
    const byIp = new Map<string, string>();
    const byMac = new Map<string, string>();
    for (const { ip, mac } of all) {
      assert.equal(byIp.get(ip) ?? mac, mac, `${ip} ACKed to two clients: ${byIp.get(ip)} and ${mac}`);
      assert.equal(byMac.get(mac) ?? ip, ip, `${mac} ACKed two addresses: ${byMac.get(mac)} and ${ip}`);
      byIp.set(ip, mac);
      byMac.set(mac, ip);
    }
    const rows = pg.psql("SELECT ip, mac FROM leases WHERE state = 'bound'", 'faults');
    const db = new Map(rows.map(([ip, mac]) => [ip!, mac!]));
    for (const [ip, mac] of byIp) assert.equal(db.get(ip), mac, `ACKed ${ip} → ${mac} is a bound row in the database`);
    const macs = rows.map(([, mac]) => mac);
    assert.equal(new Set(macs).size, macs.length, 'no client holds two bound leases in the database');
    t.diagnostic(`ACKs ${all.length}, addresses ${byIp.size}, bound rows ${rows.length}`);
  }

  it('PostgreSQL crashes and restarts mid-load: no ACK without a commit, none lost, serving again by itself', async (t) => {
    const before = metric('kickstand_dhcp_ignored_total{reason="store-unavailable"}');
    let down = 0;
    const { all, healed } = await underLoad('restart', async () => {
      pg.crash();
      down = Date.now() / 1000;
      await sleep(2000);
      pg.startAgain(); // WAL replay
    });
    // An ACK of a lease committed just before the crash may leave a moment later.
    const during = all.filter((a) => a.ts > down + 0.3 && a.ts < healed - 0.3);
    const afterwards = all.filter((a) => a.ts > healed + 0.5);
    t.diagnostic(
      `ACKs before ${all.length - during.length - afterwards.length}, while down ${during.length}, after ${afterwards.length}`,
    );
    assert.equal(during.length, 0, 'no ACK while the database was down');
    assert.ok(afterwards.length > 0, 'the daemon serves again after the restart (reconnected by itself)');
    checkBindings(t, all);
    assert.ok(
      metric('kickstand_dhcp_ignored_total{reason="store-unavailable"}') > before,
      '/metrics counts requests dropped for the store',
    );
    assert.match(daemon.stderr(), /dhcp: store unreachable; leases cannot be committed/);
    assert.match(daemon.stderr(), /dhcp: store reachable again; serving/);
    assert.equal(metric('kickstand_dhcp_store_unavailable'), 0);
  });

  it('a network partition to PostgreSQL (port blocked) behaves like a restart', async (t) => {
    const logBefore = daemon.stderr().length;
    let cut = 0;
    const { all, healed } = await underLoad('partition', async () => {
      // Loopback traffic crosses the output hook: the daemon's packets to the database vanish.
      srv.exec('nft', ['-f', '-'], {
        input: `table inet kspart {\n chain out {\n type filter hook output priority 0;\n tcp dport ${pg.port} drop\n }\n}\n`,
      });
      cut = Date.now() / 1000;
      await sleep(5000);
      assert.equal(metric('kickstand_dhcp_store_unavailable'), 1, '/metrics shows the store unreachable');
      srv.exec('nft', ['delete', 'table', 'inet', 'kspart']);
    });
    // A commit already sent when the port closed may still complete within the timeout.
    const during = all.filter((a) => a.ts > cut + 2 && a.ts < healed - 0.5);
    const afterwards = all.filter((a) => a.ts > healed + 0.5);
    t.diagnostic(`ACKs while cut off ${during.length}, after ${afterwards.length}`);
    assert.equal(during.length, 0, 'no ACK while the database was unreachable');
    assert.ok(afterwards.length > 0, 'the daemon serves again after the partition');
    checkBindings(t, all);
    const log = daemon.stderr().slice(logBefore);
    assert.match(log, /dhcp: store unreachable/);
    assert.match(log, /dhcp: store reachable again; serving/);
  });
});
