/**
 * @module test/e2e/lab/kickstand
 * Kickstand as the lab runs it: the real daemon (`kickstand serve`) and the real CLI, both run
 * from this checkout inside the lab's Kickstand namespace, with a lab config written here.
 * The live timeline comes from follow-events.ts (the API's /watch feed) in the same namespace.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { KEY_FILE } from '../../../src/bootstrap/keys';
import type { HostEvent } from '../../../src/model/event';
import type { Host } from '../../../src/model/host';
import type { LabAssets } from './assets';
import type { LeaseRow } from './checks';
import { sshIn } from './ssh';
import { REPO_ROOT } from './assets';
import type { LabNet } from './topology';

/** The machine listener (http.listen): iPXE scripts, kickstarts, /images. */
export const API_PORT = 8080;
/** The operator API listener (api.listen), on the Kickstand namespace's loopback. */
export const OPERATOR_API = 'http://127.0.0.1:8081';

/** A row of Kickstand's mesh table. */
export interface MeshRow {
  host: string;
  address: string;
  publicKey: string | null;
  endpoint: string | null;
}

export interface LabConfigPaths {
  file: string;
  stateDir: string;
  logFile: string;
}

/**
 * The lab config: DHCP on the lab subnet (authoritative, or proxy beside the site's dnsmasq),
 * unknown machines discovered.
 */
export function writeLabConfig(
  workDir: string,
  net: LabNet,
  assets: LabAssets,
  dhcpMode: 'authoritative' | 'proxy' = 'authoritative',
  bootstrap = false,
  secureBoot = false,
  relayed?: { subnet: string; poolStart: string; poolEnd: string; giaddr: string },
): LabConfigPaths {
  const stateDir = join(workDir, 'state');
  const cfg = {
    stateDir,
    http: { listen: `0.0.0.0:${API_PORT}`, publicUrl: `http://${net.serverIp}:${API_PORT}` },
    api: { listen: OPERATOR_API.slice('http://'.length) },
    log: { level: 'debug' },
    imagesDir: assets.imagesDir,
    kickstartsDir: assets.kickstartsDir,
    network: {
      address: net.serverIp,
      subnet: net.subnet,
      pool: { start: net.poolStart, end: net.poolEnd },
      leaseTime: 600,
    },
    dhcp: {
      mode: dhcpMode,
      port: 67,
      bind: '0.0.0.0',
      unknownHosts: 'discover',
      // A subnet behind a relay (relay.ts), chosen by giaddr (RFC 2131 §4.3.1).
      ...(relayed
        ? {
            relayed: [
              {
                subnet: relayed.subnet,
                pool: { start: relayed.poolStart, end: relayed.poolEnd },
                gateway: relayed.giaddr,
                leaseTime: 600,
              },
            ],
          }
        : {}),
    },
    tftp: { enabled: true, listen: [net.serverIp], port: 69 },
    install: { tokenTtl: 900, timeout: 900 },
    vars: { timezone: 'UTC', keyboard: 'us', lang: 'en_US.UTF-8' },
    // The pxe and proxy labs end at `installed` (no disk, no sshd). The journey lab's installed
    // Debian serves SSH: Kickstand bootstraps it by itself (mesh, k3s from the imported bundle),
    // probing sooner than the production default, and agents may wait for the server's
    // install; the mesh addresses are in 198.19.0.0/16 (the default, inside 198.18.0.0/15).
    bootstrap: bootstrap
      ? {
          enabled: true,
          probe: { initialDelayMs: 2000, maxDelayMs: 10_000, giveUpAfterMs: 900_000 },
          retryDelayMs: 2000,
          mesh: { cidr: '198.19.79.0/24' },
          k3s: { source: 'bundle', serverWaitMs: 600_000 },
        }
      : { enabled: false },
    profiles: {
      lab: {
        kernel: assets.kernel,
        initrd: assets.initrd,
        installTree: assets.tree,
        kickstart: 'lab.ks.hbs',
        // quiet: the stand-in's own lines stay readable; panic=1 + -no-reboot ends a dead VM fast.
        kernelArgs: 'console=ttyS0,115200n8 quiet panic=1',
      },
      // The Secure Boot chain (firmware lab): shim → signed GRUB → this kernel. Not quiet: the
      // kernel's "secureboot: Secure boot enabled" is an info line, the lab's proof it was on.
      // no_timer_check: on a loaded host the emulated (TCG) x86 guest can miss the IO-APIC timer
      // check and panic (docs/lab.md "Firmware behaviour the lab depends on").
      ...(secureBoot
        ? {
            labsb: {
              kernel: assets.kernel,
              initrd: assets.initrd,
              installTree: assets.tree,
              kickstart: 'lab.ks.hbs',
              kernelArgs: 'console=ttyS0,115200n8 panic=1 no_timer_check',
              loader: 'grub',
            },
          }
        : {}),
      // The arm64 chain (firmware lab `arm`): shim → GRUB → Debian's arm64 kernel and the arm64
      // stand-in. The console is the virt board's PL011; not quiet, so its banner is on it.
      ...(assets.arm64
        ? {
            labarm: {
              kernel: assets.arm64.kernel,
              initrd: assets.arm64.initrd,
              installTree: assets.tree,
              kickstart: 'lab.ks.hbs',
              kernelArgs: 'console=ttyAMA0 panic=1',
              loader: 'grub',
            },
          }
        : {}),
    },
  };
  const file = join(workDir, 'kickstand-lab.yaml');
  writeFileSync(
    file,
    `# Kickstand lab config (generated by test/e2e/lab; addresses inside the lab's namespaces only)\n${stringify(cfg)}`,
  );
  return { file, stateDir, logFile: join(workDir, 'kickstand.log') };
}

/** True when the lab itself runs compiled (dist/…/*.js): then Kickstand runs compiled too. */
const COMPILED = __filename.endsWith('.js');

/**
 * argv that runs a script of this checkout: from dist/ when the lab is compiled (`tsc -p
 * tsconfig.json` emits test/ too; `npm run build` emits src/ only), else from the sources with
 * tsx (no build needed).
 */
export function nodeArgv(repoRelTs: string): string[] {
  if (COMPILED) return [process.execPath, join(REPO_ROOT, 'dist', repoRelTs.replace(/\.ts$/, '.js'))];
  return [process.execPath, '--import', 'tsx', join(REPO_ROOT, repoRelTs)];
}

/** argv of the Kickstand CLI (`kickstand …`). */
export function cliArgv(): string[] {
  return nodeArgv('src/cli/main.ts');
}

export class LabKickstand {
  private daemon: ChildProcess | undefined;
  private follower: ChildProcess | undefined;
  readonly events: HostEvent[] = [];
  private readonly logLines: string[] = [];

  constructor(
    private readonly net: LabNet,
    readonly cfg: LabConfigPaths,
  ) {}

  /** `kickstand serve` in the Kickstand namespace; resolves when the API answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    const [node, ...args] = cliArgv();
    const log = createWriteStream(this.cfg.logFile);
    const d = spawn('ip', ['netns', 'exec', this.net.ksNs, node!, ...args, '--config', this.cfg.file, 'serve'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.daemon = d;
    for (const s of [d.stdout, d.stderr]) {
      s?.pipe(log, { end: false });
      createInterface({ input: s }).on('line', (l) => {
        this.logLines.push(l);
        if (this.logLines.length > 2000) this.logLines.splice(0, 500);
      });
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (d.exitCode !== null || d.signalCode !== null)
        throw new Error(`kickstand serve exited (${d.exitCode ?? d.signalCode}):\n${this.logTail(30).join('\n')}`);
      if (this.logLines.some((l) => l.includes('kickstand ready'))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`kickstand serve did not become ready in ${timeoutMs / 1000} s:\n${this.logTail(30).join('\n')}`);
  }

  /** Runs the CLI in the Kickstand namespace; resolves with stdout, rejects with stderr. */
  cli(args: string[], timeoutMs = 60_000): Promise<string> {
    const [node, ...pre] = cliArgv();
    return new Promise((resolve, reject) => {
      execFile(
        'ip',
        ['netns', 'exec', this.net.ksNs, node!, ...pre, '--config', this.cfg.file, ...args],
        { cwd: REPO_ROOT, timeout: timeoutMs, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kickstand ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** The daemon's /metrics text, fetched with curl inside its namespace (token header on stdin, never argv). */
  metrics(): Promise<string> {
    const token = readFileSync(join(this.cfg.stateDir, 'api-token'), 'utf8').trim();
    return new Promise((resolve, reject) => {
      const c = execFile(
        'ip',
        ['netns', 'exec', this.net.ksNs, 'curl', '-sS', '--max-time', '10', '-H', '@-', `${OPERATOR_API}/metrics`],
        { timeout: 15_000, encoding: 'utf8' },
        (err, stdout) => (err ? reject(new Error(`curl /metrics: ${err.message}`, { cause: err })) : resolve(stdout)),
      );
      c.stdin?.end(`Authorization: Bearer ${token}\n`);
    });
  }

  /**
   * `ssh-keyscan -t ed25519 IP` from Kickstand's namespace (where the bootstrapper will connect
   * from): the host key lines the machine's sshd serves, or [] when it does not answer.
   */
  keyscan(ip: string): Promise<string[]> {
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', this.net.ksNs, 'ssh-keyscan', '-T', '5', '-t', 'ed25519', ip],
        { timeout: 15_000, encoding: 'utf8' },
        (_err, stdout) => resolve(stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))),
      );
    });
  }

  async hostAdd(name: string, mac: string, profile: string, role: string): Promise<Host> {
    return JSON.parse(
      await this.cli(['host', 'add', name, '--mac', mac, '--profile', profile, '--role', role, '--json']),
    ) as Host;
  }

  async hostShow(name: string): Promise<Host> {
    return JSON.parse(await this.cli(['host', 'show', name, '--json'])) as Host;
  }

  async hostList(): Promise<Host[]> {
    return JSON.parse(await this.cli(['host', 'list', '--json'])) as Host[];
  }

  async hostEvents(name: string): Promise<HostEvent[]> {
    return JSON.parse(await this.cli(['host', 'events', name, '--json', '--limit', '1000'])) as HostEvent[];
  }

  /** Follows the whole timeline (every host and unknown MACs); calls `onEvent` for each. */
  follow(onEvent: (e: HostEvent) => void): void {
    const token = readFileSync(join(this.cfg.stateDir, 'api-token'), 'utf8').trim();
    const f = spawn(
      'ip',
      ['netns', 'exec', this.net.ksNs, ...nodeArgv('test/e2e/lab/follow-events.ts'), OPERATOR_API],
      {
        cwd: REPO_ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    f.stdin?.end(token + '\n'); // the token goes through a pipe, never argv
    this.follower = f;
    createInterface({ input: f.stdout }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      const e = JSON.parse(l) as HostEvent;
      this.events.push(e);
      onEvent(e);
    });
    createInterface({ input: f.stderr }).on('line', (l) => this.logLines.push(`[follow-events] ${l}`));
  }

  /**
   * The lease table, read from the daemon's SQLite file (read-only; WAL lets a reader in beside
   * the running daemon). The API has no lease listing; the lab checks bindings here.
   */
  leases(): LeaseRow[] {
    const db = new Database(join(this.cfg.stateDir, 'kickstand.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare('SELECT ip, mac, client_id AS clientId, state FROM leases ORDER BY ip')
        .all() as LeaseRow[];
      return rows;
    } finally {
      db.close();
    }
  }

  /** Kickstand's WireGuard mesh table (read-only from its SQLite file, as leases()). */
  mesh(): MeshRow[] {
    const db = new Database(join(this.cfg.stateDir, 'kickstand.db'), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare('SELECT host, address, public_key AS publicKey, endpoint FROM mesh_members ORDER BY address')
        .all() as MeshRow[];
    } finally {
      db.close();
    }
  }

  /**
   * Real OpenSSH from Kickstand's namespace, logging in as root with Kickstand's own bootstrap
   * key and trusting exactly `hostKeys` for `ip` (the lab looks at the nodes the way the
   * bootstrapper reaches them).
   */
  ssh(ip: string, hostKeys: readonly string[], command: string, knownHostsFile: string) {
    return sshIn(this.net.ksNs, join(this.cfg.stateDir, KEY_FILE), knownHostsFile, ip, hostKeys, command);
  }

  logTail(n: number): string[] {
    return this.logLines.slice(-n);
  }

  /** Stops the follower and the daemon (SIGTERM by PID, then SIGKILL after `graceMs`). */
  async stop(graceMs = 5000): Promise<void> {
    for (const p of [this.follower, this.daemon]) {
      if (!p || p.pid === undefined || p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        continue;
      }
      const t = setTimeout(() => {
        try {
          process.kill(p.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, graceMs);
      await gone;
      clearTimeout(t);
    }
  }

  /** Synchronous last resort for exit handlers. */
  killNow(): void {
    for (const p of [this.follower, this.daemon]) {
      if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
}
