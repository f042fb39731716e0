/**
 * `kickstand backup` under DHCP and HTTP load, then `kickstand restore` into a fresh state
 * directory. The daemon (the real `kickstand serve`) runs in a network namespace on
 * 198.18.67.0/24; perfdhcp (ISC Kea's load generator, relay mode; bounded: 200 clients, 40
 * exchanges/s, at most 40 s) and a curl loop fetching a boot asset and /healthz (bounded: 400 fetches,
 * 45 s) run from a second namespace while the backup is taken. Every DHCPACK is captured on the
 * wire (tcpdump). After the restore:
 *   - every lease ACKed before the backup started is a bound lease of the same client in the
 *     restored store (the snapshot holds every commit made before it began: docs/operating.md
 *     "Backing up and restoring", SQLite's VACUUM INTO in one read transaction);
 *   - a daemon started on the restored directory serves: /healthz, the asset, and DHCP, giving
 *     each returning client the address the backup recorded for it.
 * No timing assertions: the rates are inputs, only what was acknowledged and restored is checked.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { openSqliteStore } from '../../src/store/sqlite';
import { startDaemon, type Daemon } from '../dhcp/helpers/daemon';
import { capturedAcks, type CapturedAck } from '../dhcp/helpers/pcap';
import { cliArgv, REPO, runCli } from '../helpers/daemon';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { exited, startTcpdump } from '../helpers/capture';

const why = missing({ root: true, binaries: ['perfdhcp', 'tcpdump', 'curl', 'ip'] });
const SERVER = '198.18.67.1';
const CLIENT = '198.18.67.2';
const HTTP = `http://${SERVER}:8080`;
const PERF_CLIENTS = 200;
const PERF_RATE = 40;
/** An upper bound: perfdhcp is stopped (SIGINT) a second after the backup ends. */
const PERF_SECONDS = 40;
const FETCH_MAX = 400;
const FETCH_MAX_MS = 45_000;
const hex = (s: string) => Buffer.from(s).toString('hex');
const PXE_OPTS = ['-o', `60,${hex('PXEClient:Arch:00007:UNDI:003016')}`, '-o', '93,0007', '-o', '94,010301'];
const MAC_BASE = 'mac=00:0c:03:00:00:00';

/** The CLI without blocking the event loop (the load keeps running while it works). */
function runCliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [...cliArgv(), ...args], {
      cwd: REPO,
      env: { ...process.env, KICKSTAND_URL: undefined, KICKSTAND_TOKEN: undefined, KICKSTAND_CONFIG: undefined },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => ok({ code, stdout, stderr }));
  });
}

/** The capture's DHCPACKs, their times in ms (the backup's start is in ms). */
const acksIn = (pcap: string): CapturedAck[] => capturedAcks(pcap).map((a) => ({ ...a, ts: a.ts * 1000 }));

describe('backup and restore under DHCP and HTTP load', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-backup-load-'));
  const state = join(dir, 'state');
  const restored = join(dir, 'restored');
  const archive = join(dir, 'kickstand-backup.tar');
  const blob = randomBytes(512 * 1024 + 11);
  const blobSha = createHash('sha256').update(blob).digest('hex');
  let srv: Netns;
  let cli: Netns;
  let ifc = '';
  let cfg: { dhcp: unknown; network: unknown };

  before(() => {
    const tag = uniqueTag('kbl');
    srv = lab.addNamespace(`${tag}s`);
    cli = lab.addNamespace(`${tag}c`);
    ifc = `${tag}c0`;
    lab.link(srv, `${tag}s0`, `${SERVER}/24`, cli, ifc, `${CLIENT}/24`);
    const extra = {
      http: { listen: '0.0.0.0:8080', publicUrl: HTTP },
      dhcp: { unknownHosts: 'discover' },
      network: {
        address: SERVER,
        subnet: '198.18.67.0/24',
        pool: { start: '198.18.67.10', end: '198.18.67.250' },
        leaseTime: 3600,
      },
    };
    cfg = extra;
    putAsset(state);
  });
  after(async () => {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The boot asset the load fetches, in the images dir startDaemon gives `stateDir` (stateDir/images). */
  function putAsset(stateDir: string): void {
    mkdirSync(join(stateDir, 'images', 'load'), { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'images', 'load', 'blob.bin'), blob);
  }

  /** Fetches the asset and /healthz from the client namespace until `stop()`, bounded; returns the count. */
  function fetchLoop(stop: () => boolean, max = FETCH_MAX): Promise<number> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      let n = 0;
      const next = (): void => {
        if (stop() || n >= max || Date.now() - t0 > FETCH_MAX_MS) return resolve(n);
        const c = lab.spawnIn(cli, 'sh', [
          '-c',
          `curl -fsS --max-time 10 ${HTTP}/images/load/blob.bin | sha256sum && curl -fsS --max-time 10 ${HTTP}/healthz`,
        ]);
        let out = '';
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        c.once('exit', (code) => {
          if (code !== 0 || !out.startsWith(blobSha) || !out.includes('"ok":true'))
            return reject(new Error(`fetch ${n}: exit ${code}: ${out}`));
          n += 1;
          next();
        });
      };
      next();
    });
  }

  /** tcpdump of the server's replies to the relay (perfdhcp); resolves once it listens. */
  const capture = (file: string): Promise<ChildProcess> => startTcpdump(lab, cli, ifc, file);

  let acks: CapturedAck[] = [];
  let backupStarted = 0;
  let backupEnded = 0;
  let daemon: Daemon | undefined;

  /** Stops the daemon the backup was taken from (also when the first test failed half-way). */
  async function stopFirst(): Promise<void> {
    if (daemon === undefined || daemon.proc.exitCode !== null || daemon.proc.signalCode !== null) return;
    daemon.proc.kill('SIGTERM');
    await exited(daemon.proc);
  }

  it('kickstand backup while perfdhcp and HTTP fetches run against the daemon', async () => {
    daemon = await startDaemon(lab, srv, cfg, state);
    const cap = join(dir, 'acks.pcap');
    const tcpdump = await capture(cap);
    const perf = lab.spawnIn(cli, 'perfdhcp', [
      '-4',
      '-R',
      String(PERF_CLIENTS),
      '-b',
      MAC_BASE,
      ...PXE_OPTS,
      '-r',
      String(PERF_RATE),
      '-p',
      String(PERF_SECONDS),
      '-W',
      '200000',
      SERVER,
    ]);
    let perfOut = '';
    perf.stdout!.on('data', (d: Buffer) => (perfOut += d.toString()));
    let fetching = true;
    const fetches = fetchLoop(() => !fetching);
    // Let the load build up (leases committed, fetches served), then back up in the middle of it.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(perf.exitCode, null, `perfdhcp still running when the backup starts:\n${perfOut}`);
    backupStarted = Date.now();
    const b = await runCliAsync(['--config', join(state, 'kickstand.yaml'), 'backup', archive, '--json']);
    backupEnded = Date.now();
    assert.equal(b.code, 0, b.stderr);
    await new Promise((r) => setTimeout(r, 1000));
    fetching = false;
    const fetched = await fetches;
    if (perf.exitCode === null && perf.signalCode === null) perf.kill('SIGINT');
    await exited(perf);
    await new Promise((r) => setTimeout(r, 300));
    tcpdump.kill('SIGINT');
    await exited(tcpdump);
    acks = acksIn(cap);
    const before = acks.filter((a) => a.ts < backupStarted).length;
    const afterEnd = acks.filter((a) => a.ts > backupEnded).length;
    process.stderr.write(
      `# ${acks.length} ACKs (${before} before the backup, ${afterEnd} after it), ${fetched} asset+healthz fetches; backup took ${backupEnded - backupStarted} ms\n`,
    );
    // The load really spanned the backup: ACKs and fetches on both sides of it.
    assert.ok(before > 20, `ACKs before the backup: ${before}\n${perfOut}`);
    assert.ok(afterEnd > 0, `ACKs after the backup: ${afterEnd}\n${perfOut}`);
    assert.ok(fetched > 1, `fetches: ${fetched}`);
    await stopFirst();
  });

  it('restored into a fresh state dir: every lease ACKed before the backup, and the daemon serves', async () => {
    await stopFirst();
    const restoredCfg = join(dir, 'restored.yaml');
    writeFileSync(
      restoredCfg,
      stringify({
        stateDir: join(restored, 'state'),
        imagesDir: join(restored, 'state', 'images'),
        kickstartsDir: join(REPO, 'kickstarts'),
        ...cfg,
      }),
    );
    const r = runCli(['--config', restoredCfg, 'restore', archive]);
    assert.equal(r.code, 0, r.stderr);
    const store = openSqliteStore(join(restored, 'state', 'kickstand.db'));
    const recorded = new Map<string, string>();
    try {
      const lost: string[] = [];
      for (const a of acks.filter((x) => x.ts < backupStarted)) {
        const l = await store.leases.get(a.ip);
        if (l?.state !== 'bound' || l.mac !== a.mac)
          lost.push(`${a.ip} ${a.mac}: ${l ? `${l.state} ${l.mac}` : 'none'}`);
      }
      assert.deepEqual(lost, [], 'leases ACKed before the backup began, missing from the restored store');
      for (const l of await store.leases.list()) if (l.state === 'bound') recorded.set(l.mac, l.ip);
    } finally {
      await store.close();
    }

    // A daemon on the restored state directory (startDaemon writes its config file there).
    putAsset(join(restored, 'state'));
    const again = await startDaemon(lab, srv, cfg, join(restored, 'state'));
    try {
      assert.equal(await fetchLoop(() => false, 3), 3);
      const cap = join(dir, 'acks-restored.pcap');
      const tcpdump = await capture(cap);
      // Drops are not this test's question (perfdhcp exits 3 on any): only what was ACKed is checked.
      await exited(
        lab.spawnIn(cli, 'perfdhcp', [
          '-4',
          '-R',
          '50',
          '-b',
          MAC_BASE,
          ...PXE_OPTS,
          '-r',
          '20',
          '-p',
          '3',
          '-W',
          '200000',
          SERVER,
        ]),
      );
      await new Promise((r) => setTimeout(r, 300));
      tcpdump.kill('SIGINT');
      await exited(tcpdump);
      const after = acksIn(cap);
      assert.ok(after.length > 0, 'the restored daemon ACKs');
      const moved = after.filter((a) => recorded.has(a.mac) && recorded.get(a.mac) !== a.ip);
      assert.deepEqual(
        moved.map((a) => `${a.mac}: ${recorded.get(a.mac)} → ${a.ip}`),
        [],
        'a returning client keeps the address the backup recorded',
      );
      assert.ok(
        after.some((a) => recorded.has(a.mac)),
        'some returning clients were among the restored leases',
      );
    } finally {
      again.proc.kill('SIGTERM');
      await exited(again.proc);
    }
  });
});
