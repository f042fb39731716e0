/**
 * Runs the real `kickstand` CLI and daemon as child processes: compiled (dist/) under
 * `npm test`, through tsx when a test file is run from source while developing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';

const FROM_SOURCE = __filename.endsWith('.ts');
export const REPO = resolve(__dirname, FROM_SOURCE ? '../..' : '../../..');

/** argv prefix that runs the CLI. */
export function cliArgv(): string[] {
  return FROM_SOURCE ? ['--import', 'tsx', join(REPO, 'src/cli/main.ts')] : [join(REPO, 'bin/kickstand')];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [...cliArgv(), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, KICKSTAND_URL: undefined, KICKSTAND_TOKEN: undefined, KICKSTAND_CONFIG: undefined, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A minimal valid config on loopback with high ports; `extra` is merged at the top level. */
export function testConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stateDir: join(dir, 'state'),
    http: { listen: '127.0.0.1:0' },
    api: { listen: '127.0.0.1:0' },
    imagesDir: join(dir, 'images'),
    kickstartsDir: join(REPO, 'kickstarts'),
    network: {
      address: '198.18.0.1',
      subnet: '198.18.0.0/24',
      pool: { start: '198.18.0.100', end: '198.18.0.199' },
      gateway: '198.18.0.1',
      dns: ['198.18.0.1'],
    },
    dhcp: { mode: 'off' },
    tftp: { enabled: false },
    log: { level: 'info' },
    profiles: {
      rocky9: {
        kernel: 'rocky9/vmlinuz',
        initrd: 'rocky9/initrd.img',
        installTree: 'http://198.18.0.1:8080/images/rocky9/tree',
        kickstart: 'rocky9.ks.hbs',
      },
    },
    ...extra,
  };
}

export class DaemonProcess {
  child: ChildProcess | null = null;
  /** The API listener's port. */
  port = 0;
  /** The machine listener's port. */
  machinePort = 0;
  log = '';
  /** Logs of earlier runs (restarts). */
  history = '';
  readonly dir: string;
  readonly configFile: string;

  constructor(config?: (dir: string) => Record<string, unknown>) {
    this.dir = mkdtempSync(join(tmpdir(), 'ks-daemon-'));
    this.configFile = join(this.dir, 'kickstand.yaml');
    writeFileSync(this.configFile, stringify((config ?? testConfig)(this.dir)));
  }

  /** The API listener (/api/v1, /metrics). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The machine listener (boot scripts, kickstarts, callbacks, /images). */
  get machineUrl(): string {
    return `http://127.0.0.1:${this.machinePort}`;
  }

  get stateDir(): string {
    return join(this.dir, 'state');
  }

  get token(): string {
    return readFileSync(join(this.stateDir, 'api-token'), 'utf8').trim();
  }

  /** Starts `kickstand serve` and resolves once it logs "kickstand ready". */
  async start(listen = '127.0.0.1:0'): Promise<void> {
    const child = spawn(process.execPath, [...cliArgv(), 'serve', '--config', this.configFile, '--listen', listen], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KICKSTAND_URL: undefined, KICKSTAND_TOKEN: undefined },
    });
    this.child = child;
    this.history += this.log;
    this.log = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.log += d));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`daemon did not start in 20 s:\n${this.log}`)), 20_000);
      const check = (): void => {
        const m =
          /"machines":"http:\/\/[^"]+:(\d+)","api":"http:\/\/[^"]+:(\d+)\/api\/v1".*"msg":"kickstand ready"/.exec(
            this.log,
          );
        if (m) {
          clearTimeout(timer);
          this.machinePort = Number(m[1]);
          this.port = Number(m[2]);
          ok();
        }
      };
      child.stderr.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`daemon exited with ${code} before ready:\n${this.log}`));
      });
    });
  }

  cli(args: string[]): CliResult {
    return runCli(['--server', this.url, '--state-dir', this.stateDir, ...args]);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any API reply; tests assert on its fields
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** Sends `signal` to the daemon (only the process we started) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill(signal);
    return exited;
  }

  async cleanup(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The daemon built in this process (real store, real HTTP on 127.0.0.1:0), for API-level tests. */
export interface InProcessDaemon {
  dir: string;
  daemon: Daemon;
  /** The API listener: http(s)://127.0.0.1:PORT, or unix:/PATH */
  base: string;
  /** The machine listener, http://127.0.0.1:PORT */
  machineBase: string;
  token: string;
  close(): Promise<void>;
}

export async function startInProcess(
  prefix: string,
  configure: (dir: string) => Record<string, unknown> = testConfig,
): Promise<InProcessDaemon> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const file = join(dir, 'kickstand.yaml');
  writeFileSync(file, stringify(configure(dir)));
  const daemon = buildDaemon(loadConfig({ file, env: {} }), { log: silentLogger() });
  await daemon.start();
  return {
    dir,
    daemon,
    base: daemon.api.url(),
    machineBase: `http://127.0.0.1:${daemon.http.address()!.port}`,
    token: readFileSync(join(dir, 'state', 'api-token'), 'utf8').trim(),
    async close() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
