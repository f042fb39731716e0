/**
 * @module bench/boot-routes
 * Unloaded latency of the machine-facing boot routes through the deployed daemon
 * (buildDaemon, the one wiring point `kickstand serve` uses; HTTP on loopback, DHCP and TFTP
 * off, the SQLite store on disk with its WAL fsyncs). Issue #15 goals: `GET /ks/<token>`
 * ≤ 2 ms, the iPXE script ≤ 1 ms, unloaded.
 *
 * N hosts with static addresses 127.0.1.x are registered and armed through the registry, then
 * one at a time, each from its own address on a fresh connection (as a machine does): GET
 * /boot.ipxe, GET /ipxe/<mac>, GET /ks/<token> (its first fetch). Times are request start to
 * last byte, in this process (no client process in between). The first host's requests are
 * reported apart (`cold`: the first of each route in a fresh daemon, what a one-client storm
 * sees); p50/p95/max are over the others. Also printed: the latency of one fdatasync(2) of a
 * small file in the same directory, the floor of every route that waits for a durable write.
 *
 *   node --import tsx bench/boot-routes.ts [--hosts 200] [--dir DIR]
 * Needs no root. DIR (default the OS temp dir) holds the state directory: put it on the disk
 * the daemon's stateDir would use.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveConfig } from '../src/config/load';
import { configSchema } from '../src/config/schema';
import { buildDaemon } from '../src/daemon';
import { silentLogger } from '../src/log';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const N = Math.min(Math.max(Number(arg('--hosts', '200')), 2), 250);
const BASE = arg('--dir', tmpdir());

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function get(url: string, from: string): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now();
  return new Promise((ok, fail) => {
    const req = request(url, { localAddress: from, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        ok({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', fail);
    req.end();
  });
}

function fsyncMs(dir: string, n = 50): number[] {
  const f = join(dir, 'fsync-probe');
  const fd = openSync(f, 'w');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    writeSync(fd, 'x'.repeat(4096));
    const t0 = performance.now();
    fdatasyncSync(fd);
    out.push(performance.now() - t0);
  }
  closeSync(fd);
  return out;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const fmt = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const row = (name: string, cold: number, xs: number[]): string =>
  `| ${name} | ${fmt(cold)} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 95))} | ${fmt(Math.max(...xs))} |`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(BASE, 'ks-boot-routes-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = resolveConfig(
    configSchema.parse({
      stateDir: join(dir, 'state'),
      http: { listen: `127.0.0.1:${port}`, publicUrl: base },
      kickstartsDir: resolve(__dirname, '../kickstarts'),
      network: {
        address: '127.0.1.254',
        subnet: '127.0.1.0/24',
        pool: { start: '127.0.1.250', end: '127.0.1.253' },
        gateway: '127.0.1.254',
        dns: ['127.0.1.254'],
        domain: 'lab.example',
      },
      dhcp: { mode: 'off' },
      tftp: { enabled: false },
      bootstrap: { enabled: false },
      log: { level: 'warn' },
      vars: { timezone: 'UTC', keyboard: 'us', lang: 'en_US.UTF-8' },
      profiles: {
        rocky9: {
          kernel: 'rocky9/vmlinuz',
          initrd: 'rocky9/initrd.img',
          installTree: 'rocky9/tree',
          kickstart: 'rocky9.ks.hbs',
        },
      },
    }),
  );
  const d = buildDaemon(config, { log: silentLogger() });
  try {
    const hosts = Array.from({ length: N }, (_, i) => ({
      name: `br-${i}`,
      mac: `02:62:72:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
      ip: `127.0.1.${i + 1}`,
    }));
    for (const h of hosts) await d.registry.add({ name: h.name, macs: [h.mac], profile: 'rocky9', ipv4: h.ip });
    await d.stop(); // as in a deployment: hosts armed earlier, then the daemon (re)started
    const served = buildDaemon(config, { log: silentLogger() });
    await served.start();
    const t: Record<'chain' | 'script' | 'ks', number[]> = { chain: [], script: [], ks: [] };
    try {
      for (const h of hosts) {
        const chain = await get(`${base}/boot.ipxe`, h.ip);
        const script = await get(`${base}/ipxe/${h.mac.replace(/:/g, '-')}`, h.ip);
        const m = /\/ks\/([A-Za-z0-9_-]{43})/.exec(script.body);
        if (chain.status !== 200 || script.status !== 200 || !m) throw new Error(`${h.name}: ${script.body}`);
        const ks = await get(`${base}/ks/${m[1]}`, h.ip);
        if (ks.status !== 200) throw new Error(`${h.name}: kickstart ${ks.status}`);
        t.chain.push(chain.ms);
        t.script.push(script.ms);
        t.ks.push(ks.ms);
      }
    } finally {
      await served.stop();
    }
    const sync = fsyncMs(dir);
    const [l1, l5, l15] = (await import('node:os')).loadavg();
    console.log(
      `# bench/boot-routes.ts: ${N} hosts, state in ${dir}, load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} ${l15!.toFixed(2)}`,
    );
    console.log('| request (ms, start to last byte) | cold (first in a fresh daemon) | p50 | p95 | max |');
    console.log('|---|---|---|---|---|');
    console.log(row('GET /boot.ipxe', t.chain[0]!, t.chain.slice(1)));
    console.log(row('GET /ipxe/<mac> (install script)', t.script[0]!, t.script.slice(1)));
    console.log(row('GET /ks/<token> (first fetch)', t.ks[0]!, t.ks.slice(1)));
    console.log(row('fdatasync(2) of 4 KiB, same dir (floor)', sync[0]!, sync.slice(1)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
