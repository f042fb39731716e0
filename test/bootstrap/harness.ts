/**
 * Shared set-up for bootstrapper tests with real parts: a real SQLite store (temp file), the
 * real registry, the real Bootstrapper, and SshdLab nodes (real sshd + wireguard-go in
 * namespaces). Hosts are walked registered → armed → installed with the node's real host key,
 * as the %post callback would pin it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/daemon';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Bootstrapper } from '../../src/bootstrap/runner';
import { ensureBootstrapKey } from '../../src/bootstrap/keys';
import type { BundleSource } from '../../src/bootstrap/steps';
import { bootstrapSchema, type BootstrapConfig } from '../../src/config/sections/bootstrap';
import { configSchema } from '../../src/config/schema';
import { HostRegistry } from '../../src/hosts/registry';
import { REDACT_PATHS } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/store';
import { SshdLab, type SshdNode } from '../helpers/sshd-node';
import { Timeline, withTimeline } from '../../src/timeline';
import type { Logger } from '../../src/log';

/** The k3s stand-in (a .sh file: not copied to dist/, so found from the repo root). */
export const RECORDER = join(REPO, 'test/fixtures/bootstrap/k3s-install-recorder.sh');

export interface Harness {
  dir: string;
  store: Store;
  registry: HostRegistry;
  boot: Bootstrapper;
  lab: SshdLab;
  config: BootstrapConfig;
  timeline: Timeline;
  log: Logger;
  stateDir: string;
  /** Everything logged (trace level), for secret scans. */
  logText(): string;
  /** Registers `node` as an installed host with its real host key pinned. */
  install(node: SshdNode, role: string, hostKey?: string): Promise<void>;
  close(): Promise<void>;
}

/** For harnesses on `source: internet`: a bundle source with nothing imported (never fetched). */
export const noBundle = (dir: string) => () => ({ publicUrl: 'http://127.0.0.1:9', imagesDir: dir });

export async function harness(
  overrides: Record<string, unknown> = {},
  opts: { bundleSource?: () => BundleSource } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-boot-'));
  const stateDir = join(dir, 'state');
  const kp = ensureBootstrapKey(stateDir);
  const lab = new SshdLab(kp.publicKey);
  lab.setup();
  const sn = lab.subnetCidr.replace('.0/24', '');
  const cfg = configSchema.parse({
    stateDir,
    network: { address: `${sn}.1`, subnet: lab.subnetCidr, pool: { start: `${sn}.100`, end: `${sn}.199` } },
    profiles: {
      rocky9: { kernel: 'k', initrd: 'i', installTree: 'http://198.18.0.1/tree', kickstart: 'rocky9.ks.hbs' },
    },
  });
  const config = bootstrapSchema.parse({
    ssh: { readyTimeoutMs: 10_000 },
    stepTimeoutMs: 30_000,
    stepRetries: 1,
    retryDelayMs: 200,
    nodeStateDir: '/run/kickstand',
    mesh: { cidr: '198.19.7.0/24', listenPort: 51820 },
    k3s: { source: 'internet', installCommand: RECORDER },
    ...overrides,
  });
  const raw = openSqliteStore(join(dir, 'kickstand.db'));
  const timeline = new Timeline();
  const store = withTimeline(raw, timeline);
  const registry = new HostRegistry(store, cfg);
  let logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const log = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  const boot = new Bootstrapper({
    store,
    registry,
    config: () => config,
    stateDir,
    log,
    socketFactory: lab.connect,
    bundleSource: opts.bundleSource ?? noBundle(stateDir),
  });
  return {
    dir,
    store,
    registry,
    boot,
    lab,
    config,
    timeline,
    log,
    stateDir,
    logText: () => logs,
    async install(node, role, hostKey) {
      await registry.add({
        name: node.name,
        macs: [`52:54:00:00:00:${node.index.toString(16).padStart(2, '0')}`],
        profile: 'rocky9',
        role,
        ipv4: node.address,
        netboot: false,
      });
      await registry.transition(node.name, 'armed', 'test: arm');
      await registry.transition(node.name, 'installed', 'test: %post callback', {
        sshHostKeys: [hostKey ?? node.hostKey],
        netboot: false,
      });
    },
    async close() {
      await boot.idle().catch(() => undefined);
      await lab.cleanup();
      await raw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pings `to` from `from` over the mesh, retrying while WireGuard handshakes (bounded). */
export function meshPing(from: SshdNode, to: string): boolean {
  for (let i = 0; i < 10; i++) {
    try {
      from.exec('ping', ['-c', '1', '-W', '1', to], 5000);
      return true;
    } catch {
      /* handshake in progress */
    }
  }
  return false;
}
