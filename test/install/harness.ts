/**
 * The real install flow for tests: SQLite store (:memory:), the real registry, the real
 * templates (repo kickstarts/), the machine app (behind the boot routes' fast paths, as in the
 * daemon) and the API app each listening on 127.0.0.1:0. Machines are simulated
 * with real curl from loopback source addresses (the whole 127/8 is local on Linux).
 */
import { execFile } from 'node:child_process';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { resolveConfig } from '../../src/config/load';
import { configSchema, type Config } from '../../src/config/schema';
import { HostRegistry } from '../../src/hosts/registry';
import { ApiTokens } from '../../src/auth/tokens';
import { createApiApp, createMachineApp } from '../../src/http/app';
import { dispatch } from '../../src/http/server';
import { buildInstallFlow, type InstallFlow } from '../../src/daemon/install';
import { silentLogger, type Logger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import type { HostEvent } from '../../src/model/event';
import type { Store } from '../../src/store/store';
import { Timeline } from '../../src/timeline';

export const REPO = resolve(__dirname, '../..');
export const API_TOKEN = 'test-api-token-0123456789abcdef';
/** Kickstand's bootstrap key in these tests (a fixed, valid ed25519 public key). */
export const BOOTSTRAP_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl kickstand-bootstrap';

/** Provisioning "network" on loopback: 127.0.0.0/24, Kickstand at .254, hosts at .1-.9. */
export function installConfig(over: Record<string, unknown> = {}): Config {
  const parsed = configSchema.parse({
    stateDir: '/nonexistent-state',
    http: { listen: '127.0.0.1:0', publicUrl: 'http://127.0.0.1:8080' },
    kickstartsDir: join(REPO, 'kickstarts'),
    network: {
      address: '127.0.0.254',
      subnet: '127.0.0.0/24',
      pool: { start: '127.0.0.100', end: '127.0.0.199' },
      gateway: '127.0.0.254',
      dns: ['127.0.0.254'],
      domain: 'lab.example',
    },
    dhcp: { mode: 'off', unknownHosts: 'discover' },
    vars: { timezone: 'UTC', keyboard: 'us', lang: 'en_US.UTF-8' },
    profiles: {
      rocky9: {
        kernel: 'rocky9/vmlinuz',
        initrd: 'rocky9/initrd.img',
        installTree: 'rocky9/tree',
        kickstart: 'rocky9.ks.hbs',
        kernelArgs: 'console=ttyS0,115200n8',
        vars: {
          root_password_hash:
            '$6$kickstand$Jp0hY3GvPzQ.ZyM1dQmC7xJm2W1p4bXrVZ3mV3lI7b0a8uJ0fU9n6m5kLrQ3zT2yXwV1uS0tR9qP8oN7mL6kJ.',
        },
      },
    },
    ...over,
  });
  return resolveConfig(parsed);
}

export interface Harness {
  store: Store;
  registry: HostRegistry;
  flow: InstallFlow;
  config: Config;
  /** The machine listener (boot scripts, kickstarts, callbacks). */
  base: string;
  /** The API listener (/api/v1, bearer API_TOKEN). */
  apiBase: string;
  log: Logger;
  /** Replaces the config the flow reads (a SIGHUP reload: new objects, same shape). */
  setConfig(next: Config): void;
  close(): Promise<void>;
}

export async function startHarness(opts: { config?: Config; log?: Logger } = {}): Promise<Harness> {
  const store = openSqliteStore(':memory:');
  const log = opts.log ?? silentLogger();
  let config = opts.config ?? installConfig();
  const registry = new HostRegistry(store, {
    get profiles() {
      return config.profiles;
    },
    get network() {
      return config.network;
    },
  });
  const metrics = new Registry();
  const flow = buildInstallFlow({
    store,
    registry,
    config: () => config,
    log,
    metrics,
    bootstrapPublicKey: async () => BOOTSTRAP_KEY,
  });
  const app = createMachineApp({ store, log, mounts: flow.mounts });
  const apiApp = createApiApp({
    store,
    registry,
    timeline: new Timeline(),
    log,
    metrics,
    tokens: new ApiTokens(API_TOKEN, null),
    apiRouters: flow.apiRouters,
  });
  const listen = (handler: RequestListener): Promise<Server> =>
    new Promise((ok) => {
      const s = createServer(handler).listen(0, '127.0.0.1', () => ok(s));
    });
  // As the daemon serves it (src/daemon/index.ts): the boot routes' fast paths, then express.
  const server = await listen(dispatch(app, flow.fastPaths));
  const apiServer = await listen(apiApp);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const apiBase = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
  // The URLs machines are given must point at this server.
  config = { ...config, http: { ...config.http, publicUrl: base } };
  return {
    store,
    registry,
    flow,
    get config() {
      return config;
    },
    base,
    apiBase,
    log,
    setConfig(next) {
      config = next;
    },
    async close() {
      for (const s of [server, apiServer]) {
        s.closeAllConnections();
        await new Promise((ok) => s.close(ok));
      }
      await flow.timeout.stop();
      flow.templates.close();
      await store.close();
    },
  };
}

export interface CurlResult {
  status: number;
  body: string;
}

/** Real curl from source address `from` (127.x.y.z); `data` is sent with --data-binary. */
export function curl(url: string, opts: { from?: string; data?: string; dataFile?: string } = {}): Promise<CurlResult> {
  const args = ['-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}'];
  if (opts.from) args.push('--interface', opts.from);
  if (opts.data !== undefined) args.push('--data-binary', opts.data);
  if (opts.dataFile !== undefined) args.push('--data-binary', `@${opts.dataFile}`);
  args.push(url);
  return new Promise((ok, fail) => {
    execFile('curl', args, { timeout: 15_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      // An Error at run time; @types/node builds ExecFileException with Omit<>, which hides that.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
      if (err) return fail(err);
      const i = stdout.lastIndexOf('\n');
      ok({ status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) });
    });
  });
}

/** The bodies of every `%<kind>` section of a kickstart (between its header and %end), in order. */
export function sectionBodies(ks: string, kind: '%pre' | '%post'): string[] {
  const lines = ks.split('\n');
  const out: string[] = [];
  for (let start = 0; start < lines.length; start++) {
    if (lines[start]!.split(/\s+/)[0] !== kind) continue;
    const end = lines.findIndex((l, i) => i > start && l.trim() === '%end');
    out.push(lines.slice(start + 1, end).join('\n') + '\n');
    start = end;
  }
  return out;
}

/** The body of the first `%<kind>` section containing `needle` (default: the first one). */
export function sectionBody(ks: string, kind: '%pre' | '%post', needle = ''): string {
  const body = sectionBodies(ks, kind).find((b) => b.includes(needle));
  if (body === undefined) throw new Error(`no ${kind} section${needle ? ` containing ${needle}` : ''}`);
  return body;
}

/**
 * The host's events that `match`, once at least one is stored. Observation events (`http.ipxe`,
 * `tftp.grub`: src/install/observe.ts) are committed just after the answer, not before it, so a
 * test reads them this way. Bounded: fails after `ms`.
 */
export async function eventsOf(
  store: Store,
  host: string,
  match: (e: HostEvent) => boolean,
  ms = 5000,
): Promise<HostEvent[]> {
  const until = Date.now() + ms;
  for (;;) {
    const ev = (await store.events.list({ host })).filter(match);
    if (ev.length > 0) return ev;
    if (Date.now() > until) throw new Error(`no matching event of ${host} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
