/**
 * Real clients (curl, tftp-hpa, atftp) against the real server, each in its own network namespace
 * joined by a veth (198.19.77.0/24, inside 198.18.0.0/15). The server runs as a process in the
 * server namespace: `kickstand serve` with a TFTP-only config; its counters are read from its
 * /metrics (over the server namespace's loopback) once no transfer is active, before it stops.
 * Loss and duplication are injected with nftables (`numgen random` drop / `dup`): this kernel has
 * no netem. Needs root.
 *
 * Every test runs twice, once per data-phase path:
 * - [native]: the addon's thread per transfer (native/tftp.c); the daemon then turns the file
 *   cache off (daemon/fast-paths.ts) so every file is a FileHandle and takes the native path;
 *   the server's native-transfer counter must equal the transfers it started;
 * - [js]: `KICKSTAND_NATIVE=off`, the JavaScript session, with the default cache (small files as
 *   buffers, big.bin as a FileHandle read with readv); the native counter must stay 0.
 * Outside CI the native half is skipped when the addon is not built; in CI it must be there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import { native, nativeStatus } from '../../src/native';
import { cliArgv, REPO } from '../helpers/daemon';
import { IN_CI, missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';

const NEED = { root: true, binaries: ['curl', 'tftp', 'atftp', 'nft', 'ss', 'sha256sum', 'tc'] };
const why = missing(NEED);
const SRV = '198.19.77.1';
const SRV2 = '198.19.77.3';
const CLI = '198.19.77.2';
const LOADERS = ['/usr/lib/ipxe/ipxe.efi', '/usr/lib/ipxe/undionly.kpxe'];

const lab = new Lab();
let srvNs: Netns;
let cliNs: Netns;
let srvIf = '';
let dir = '';
let root = '';
const sums = new Map<string, string>();
let server: ChildProcess | null = null;
let metricsUrl = '';
let metricsHeader = '';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function makeFile(name: string, data: Buffer): void {
  writeFileSync(join(root, name), data);
  sums.set(name, sha(data));
}

before(() => {
  if (why) return;
  dir = mkdtempSync(join(tmpdir(), 'ks-tftp-real-'));
  root = join(dir, 'images');
  mkdirSync(root);
  makeFile('small.cfg', Buffer.from('DEFAULT menu\nLABEL local\n  LOCALBOOT 0\n'.repeat(40)));
  makeFile('big.bin', randomBytes(34 * 1000 * 1000)); // 34 MB: 66,407 blocks at 512, past the 16-bit wrap
  makeFile('mid.bin', randomBytes(4 * 1024 * 1024));
  makeFile('lossy.bin', randomBytes(256 * 1024));
  makeFile('lossyw.bin', randomBytes(1024 * 1024));
  const loader = LOADERS.find((p) => existsSync(p));
  if (loader) {
    copyFileSync(loader, join(root, 'loader.efi'));
    sums.set('loader.efi', sha(readFileSync(loader)));
  }
  const tag = uniqueTag('kst');
  srvNs = lab.addNamespace(`${tag}s`);
  cliNs = lab.addNamespace(`${tag}c`);
  srvIf = `${tag}s0`;
  lab.link(srvNs, srvIf, `${SRV}/24`, cliNs, `${tag}c0`, `${CLI}/24`);
  srvNs.exec('ip', ['addr', 'add', `${SRV2}/24`, 'dev', srvIf]);
});

after(async () => {
  await stopServer().catch(() => undefined);
  await lab.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Mode = 'native' | 'js';
const MODES: Mode[] = ['native', 'js'];

/** `kickstand serve` in the server namespace: TFTP on SRV and SRV2 port 69, DHCP off. */
async function startServer(mode: Mode, tftp: Record<string, number> = {}): Promise<void> {
  const run = mkdtempSync(join(dir, 'serve-'));
  const config = join(run, 'kickstand.yaml');
  writeFileSync(
    config,
    stringify({
      stateDir: join(run, 'state'),
      imagesDir: root,
      kickstartsDir: join(REPO, 'kickstarts'),
      http: { listen: '127.0.0.1:0' },
      network: { address: SRV, subnet: '198.19.77.0/24', pool: { start: '198.19.77.100', end: '198.19.77.199' } },
      dhcp: { mode: 'off' },
      tftp: {
        listen: [SRV, SRV2],
        port: 69,
        maxBlksize: 1468,
        maxWindowsize: 64,
        maxSessions: 100,
        maxSessionsPerClient: 100,
        ...tftp,
      },
      log: { level: 'info' },
    }),
  );
  const env = { ...process.env, KICKSTAND_CONFIG: undefined, KICKSTAND_NATIVE: mode === 'native' ? '' : 'off' };
  server = lab.spawnIn(srvNs, process.execPath, [...cliArgv(), '--config', config, 'serve'], { cwd: REPO, env });
  let out = '';
  server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 600 && !out.includes('"msg":"kickstand ready"'); i++) {
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = /"api":"http:\/\/127\.0\.0\.1:(\d+)\/api\/v1".*"msg":"kickstand ready"/.exec(out);
  assert.ok(ready, `server did not start: ${out}`);
  metricsUrl = `http://127.0.0.1:${ready[1]}/metrics`;
  // /metrics is on the API listener and needs a token: a header file (never argv).
  metricsHeader = join(run, 'metrics.hdr');
  writeFileSync(
    metricsHeader,
    `Authorization: Bearer ${readFileSync(join(run, 'state', 'api-token'), 'utf8').trim()}\n`,
    {
      mode: 0o600,
    },
  );
  const phase = mode === 'native' ? '"dataPhase":"native for plain files"' : '"dataPhase":"javascript"';
  assert.ok(out.includes(phase), `server runs the ${mode} path: ${out}`);
}

/** The path each transfer took: every started transfer on the native thread, or none. */
function assertPath(mode: Mode, m: Record<string, number>): void {
  const started = m['kickstand_tftp_transfers_started_total'] ?? -1;
  assert.ok(started > 0, 'transfers started');
  assert.equal(
    m['kickstand_tftp_native_transfers_total'] ?? 0,
    mode === 'native' ? started : 0,
    `${mode} path for every transfer`,
  );
}

/** Why a mode cannot run here (native without the addon, outside CI), or undefined. */
function modeSkip(mode: Mode): string | undefined {
  if (why) return why;
  if (mode === 'js' || native() !== null) return undefined;
  if (IN_CI) assert.fail(`native addon not loaded in CI: ${nativeStatus().reason}`);
  return `native addon not loaded: ${nativeStatus().reason}`;
}

/** The server's TFTP counters, from its /metrics (read inside the server namespace). */
function counters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of srvNs.exec('curl', ['-sf', '-H', `@${metricsHeader}`, metricsUrl]).split('\n')) {
    const m = /^(kickstand_tftp_\w+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]! + (m[2] ?? '')] = Number(m[3]);
  }
  return out;
}

/**
 * Waits (bounded) until no transfer is active, reads the counters, then stops the server
 * (SIGTERM) and returns them.
 */
async function stopServer(): Promise<Record<string, number>> {
  const s = server;
  server = null;
  if (!s || s.exitCode !== null) return {};
  let m = counters();
  for (let i = 0; i < 100 && (m['kickstand_tftp_sessions_active'] ?? 0) > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = counters();
  }
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  return m;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(ns: Netns, script: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((res) => {
    const c = lab.spawnIn(ns, 'sh', ['-c', script], { cwd: dir });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('exit', (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

/** A client command that prints the sha256 of what it fetched. */
function fetchCmd(client: string, file: string, host = SRV): string {
  const out = `out-${Math.random().toString(36).slice(2)}`;
  const cmds: Record<string, string> = {
    'curl-512': `curl -sS --tftp-blksize 512 -o ${out} tftp://${host}/${file}`,
    'curl-1468': `curl -sS --tftp-blksize 1468 -o ${out} tftp://${host}/${file}`,
    'tftp-hpa': `tftp -m binary ${host} -c get ${file} ${out}`,
    'atftp-512': `atftp -g -r ${file} -l ${out} ${host}`,
    'atftp-1468': `atftp --option "blksize 1468" -g -r ${file} -l ${out} ${host}`,
    'atftp-w16': `atftp --option "blksize 1468" --option "windowsize 16" -g -r ${file} -l ${out} ${host}`,
    'atftp-w8': `atftp --option "blksize 1468" --option "windowsize 8" -g -r ${file} -l ${out} ${host}`,
  };
  return `${cmds[client]} && sha256sum ${out} | cut -d' ' -f1; rc=$?; rm -f ${out}; exit $rc`;
}

async function fetchExact(client: string, file: string, host = SRV): Promise<void> {
  const r = await run(cliNs, fetchCmd(client, file, host), 90_000);
  assert.equal(r.code, 0, `${client} ${file}: ${r.stderr}`);
  assert.equal(r.stdout.trim(), sums.get(file), `${client} ${file}: sha256 differs`);
}

for (const mode of MODES) {
  test(
    `[${mode}] curl, tftp-hpa and atftp fetch byte-exact small file, 34 MB file (16-bit wrap) and a loader`,
    { timeout: 240_000 },
    async (t) => {
      const skipWhy = modeSkip(mode);
      if (skipWhy) return t.skip(skipWhy);
      if (!sums.has('loader.efi') && IN_CI)
        assert.fail(`no iPXE loader at ${LOADERS.join(' or ')} (Debian package ipxe)`);
      await startServer(mode);
      t.after(() => stopServer());
      const files = ['small.cfg', 'big.bin', ...(sums.has('loader.efi') ? ['loader.efi'] : [])];
      // the 34 MB file with the 512-byte clients (past the wrap); every client gets the others
      const plan: Array<[string, string[]]> = [
        ['curl-512', files],
        ['tftp-hpa', files],
        ['atftp-512', files],
        ['curl-1468', files.filter((f) => f !== 'big.bin')],
        ['atftp-1468', files.filter((f) => f !== 'big.bin')],
      ];
      for (const [client, fs] of plan) for (const f of fs) await fetchExact(client, f);
      const m = await stopServer();
      assert.equal(
        m['kickstand_tftp_transfers_completed_total'],
        plan.reduce((n, [, fs]) => n + fs.length, 0),
      );
      assert.equal(m['kickstand_tftp_retransmits_total'], 0);
      assertPath(mode, m);
      if (!sums.has('loader.efi')) t.diagnostic('loader part not run: install Debian package ipxe');
    },
  );

  test(
    `[${mode}] windowsize: atftp negotiates RFC 7440 windowsize 16 and gets byte-exact copies`,
    { timeout: 120_000 },
    async (t) => {
      const skipWhy = modeSkip(mode);
      if (skipWhy) return t.skip(skipWhy);
      await startServer(mode, { maxWindowsize: 32 });
      t.after(() => stopServer());
      const trace = await run(
        cliNs,
        `atftp --trace --option "blksize 1468" --option "windowsize 16" -g -r small.cfg -l /dev/null ${SRV} 2>&1`,
      );
      assert.match(trace.stdout, /received OACK <[^>]*windowsize: 16/);
      await fetchExact('atftp-w16', 'big.bin');
      await fetchExact('atftp-w16', 'mid.bin');
      const m = await stopServer();
      assert.equal(m['kickstand_tftp_transfers_completed_total'], 3);
      assertPath(mode, m);
    },
  );

  test(
    `[${mode}] replies come from the local address the client sent to (secondary address)`,
    { timeout: 60_000 },
    async (t) => {
      const skipWhy = modeSkip(mode);
      if (skipWhy) return t.skip(skipWhy);
      cliNs.exec('nft', ['-f', '-'], {
        input: `table ip kssrc {\n chain in {\n type filter hook input priority 0;\n ip saddr ${SRV2} counter\n ip saddr ${SRV} counter\n }\n}\n`,
      });
      await startServer(mode);
      try {
        await fetchExact('curl-1468', 'mid.bin', SRV2);
        const rules = cliNs.exec('nft', ['list', 'chain', 'ip', 'kssrc', 'in']);
        const count = (ip: string): number =>
          Number(new RegExp(`ip saddr ${ip.replace(/\./g, '\\.')} counter packets (\\d+)`).exec(rules)?.[1] ?? -1);
        assert.ok(count(SRV2) > 2800, `packets from ${SRV2}: ${count(SRV2)}`);
        assert.equal(count(SRV), 0, `nothing from the primary ${SRV}`);
      } finally {
        cliNs.exec('nft', ['delete', 'table', 'ip', 'kssrc']);
        assertPath(mode, await stopServer());
      }
    },
  );

  test(
    `[${mode}] 5% loss and 5% duplication each way (nftables): byte-exact, bounded resends, duplicates ignored`,
    { timeout: 180_000 },
    async (t) => {
      const skipWhy = modeSkip(mode);
      if (skipWhy) return t.skip(skipWhy);
      // Drops go in input chains (a drop on output makes the sender's sendto() fail with EPERM):
      // the client drops 5% of DATA and duplicates 5% of its ACKs; the server drops 5% of ACKs and
      // duplicates 5% of DATA.
      // The option handshake is spared on the server's side: OACK (opcode 6, `@th,64,16`) is never
      // duplicated and ACK 0 (`@th,64,32` = 0x00040000) never dropped. atftp aborts on any second
      // OACK in a unicast transfer ("tftp: unexpected OACK", tftp_file.c S_OACK_RECEIVED), and a
      // lost ACK 0 obliges the server to resend the OACK (RFC 2347), so either fault fails atftp
      // whatever the server does. The OACK resend itself is covered in session-fake-socket.test.ts.
      const ruleset = (name: string, peer: string, sport: 'sport' | 'dport'): string =>
        [
          `table ip ${name} {`,
          '  chain in {',
          '    type filter hook input priority 0;',
          `    ip saddr ${peer} udp ${sport} != 69 @th,64,32 != 0x00040000 numgen random mod 100 < 5 counter drop`,
          '  }',
          '  chain out {',
          '    type filter hook output priority 0;',
          `    ip daddr ${peer} udp ${sport === 'sport' ? 'dport' : 'sport'} != 69 @th,64,16 != 6 numgen random mod 100 < 5 counter dup to ${peer}`,
          '  }',
          '}',
          '',
        ].join('\n');
      cliNs.exec('nft', ['-f', '-'], { input: ruleset('ksloss', SRV, 'sport') });
      srvNs.exec('nft', ['-f', '-'], { input: ruleset('ksloss', CLI, 'dport') });
      let m: Record<string, number> = {};
      try {
        await startServer(mode, { timeoutMs: 200, retries: 8 });
        await fetchExact('tftp-hpa', 'lossy.bin'); // 513 blocks lock-step
        await fetchExact('atftp-512', 'lossy.bin');
        await fetchExact('atftp-w8', 'lossyw.bin'); // 715 blocks, windows of 8
      } finally {
        // a lost final ACK leaves the server resending the last block until ICMP unreachable ends it
        await new Promise((r) => setTimeout(r, 1500));
        m = await stopServer();
        cliNs.exec('nft', ['delete', 'table', 'ip', 'ksloss']);
        srvNs.exec('nft', ['delete', 'table', 'ip', 'ksloss']);
      }
      const blocks = 513 + 513 + 715;
      const rex = m['kickstand_tftp_retransmits_total'] ?? -1;
      t.diagnostic(
        `retransmits ${rex} for ${blocks} blocks; duplicate ACKs ignored ${m['kickstand_tftp_duplicate_acks_total']}`,
      );
      // every client got a byte-exact copy; the server counts a transfer whose final ACK was lost as
      // failed (socket: the client had already exited), which RFC 1350 §6 accepts
      const ended =
        (m['kickstand_tftp_transfers_completed_total'] ?? 0) +
        (m['kickstand_tftp_transfers_failed_total{reason="socket"}'] ?? 0);
      assert.equal(ended, 3);
      assert.ok(rex > 0, 'loss caused resends');
      // lock-step: ~1 resend per lost packet (~10% of blocks); windows resend at most one window per loss
      assert.ok(rex < 0.3 * 1026 + 8 * 0.15 * 715 + 50, `retransmits ${rex} bounded`);
      assert.ok((m['kickstand_tftp_duplicate_acks_total'] ?? 0) > 0, 'duplicated ACKs arrived and were ignored');
      assertPath(mode, m);
    },
  );

  test(
    `[${mode}] 50 concurrent transfers are byte-exact; the 51st waits unanswered (no ERROR) and is served when it retries`,
    { timeout: 180_000 },
    async (t) => {
      const skipWhy = modeSkip(mode);
      if (skipWhy) return t.skip(skipWhy);
      // A 160 Mbit/s link (tbf on the server's egress; no netem here) keeps the 50 transfers
      // (200 MiB in all) running together for several seconds on either path, so all 50 overlap.
      srvNs.exec('tc', [
        'qdisc',
        'add',
        'dev',
        srvIf,
        'root',
        'tbf',
        'rate',
        '160mbit',
        'burst',
        '64kb',
        'latency',
        '2s',
      ]);
      let m: Record<string, number>;
      try {
        // One client address for all: its own cap above the global one, so the 51st meets the global cap.
        await startServer(mode, { maxSessions: 50, maxSessionsPerClient: 100 });
        const runs = Array.from({ length: 50 }, () => run(cliNs, fetchCmd('curl-512', 'mid.bin'), 150_000));
        // wait until 50 transfer sockets exist in the server namespace (bounded), then ask once more
        let sockets = 0;
        for (let i = 0; i < 300 && sockets < 50; i++) {
          await new Promise((r) => setTimeout(r, 50));
          sockets = srvNs
            .exec('ss', ['-uanH'])
            .split('\n')
            .filter((l) => l.includes(`${SRV}:`) && !l.includes(`${SRV}:69 `)).length;
        }
        assert.equal(sockets, 50, 'all 50 transfers running at once');
        // At the cap the server stays silent (a PXE ROM told "busy" would give up): tftp-hpa resends
        // its RRQ and gets the file once one of the 50 has finished.
        const extra = await run(cliNs, fetchCmd('tftp-hpa', 'mid.bin'), 150_000);
        assert.doesNotMatch(extra.stdout + extra.stderr, /busy/i);
        assert.equal(extra.code, 0, extra.stderr);
        assert.equal(extra.stdout.trim(), sums.get('mid.bin'), 'the deferred request was served, byte-exact');
        const results = await Promise.all(runs);
        for (const r of results) {
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout.trim(), sums.get('mid.bin'));
        }
      } finally {
        // Clean-up only: an assertion here would replace the failure that got us here.
        srvNs.exec('tc', ['qdisc', 'del', 'dev', srvIf, 'root']);
        m = await stopServer();
      }
      assert.equal(m['kickstand_tftp_transfers_completed_total'], 51);
      assert.ok((m['kickstand_tftp_requests_deferred_total'] ?? 0) >= 1, 'the 51st was deferred at the cap');
      assert.equal(m['kickstand_tftp_requests_refused_total{reason="busy"}'], undefined, 'nobody was told busy');
      assertPath(mode, m);
    },
  );
}
