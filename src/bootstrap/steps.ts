/**
 * @module bootstrap/steps
 * The bootstrap plan for one host: preflight facts → mesh (address, node keypair, own config,
 * peers) → cluster (k3s). Every step is idempotent on the node and in the store; see plan.ts
 * for deadlines, retries and output handling.
 */
import { ErrorCode, KickstandError } from '../errors';
import type { Host } from '../model/host';
import type { MeshSync } from '../mesh/sync';
import type { Store } from '../store/store';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import type { NodeConnector } from './connect';
import { archFromUname } from '../images/k3s-release';
import { resolveBundle } from '../images/k3s-bundle';
import { INIT_SERVER_SETTING, clusterToken, invocation, joinScript, type K3sInstaller, type K3sSettings } from './k3s';
import { bundleFetch } from './k3s-fetch';
import { PREFLIGHT_SCRIPT, missingTools } from './preflight';
import type { Step, StepContext } from './plan';
import { parseKv, shCommand } from './shell';
import { KEYS_SCRIPT, applyCommand, checkKey, type MeshSettings } from './wireguard';

export interface StepDeps {
  store: Pick<Store, 'mesh' | 'settings'>;
  mesh: MeshSync;
  connector: NodeConnector;
  config: BootstrapConfig;
  /** Serialises the choice of the cluster-initialising server. */
  clusterLock: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Where imported k3s bundles are (source bundle): the live config's imagesDir and http.publicUrl. */
  bundleSource: () => BundleSource;
}

export interface BundleSource {
  /** http.publicUrl, as the nodes reach Kickstand. */
  publicUrl: string;
  imagesDir: string;
}

export function meshSettings(c: BootstrapConfig): MeshSettings {
  return {
    cidr: c.mesh.cidr,
    listenPort: c.mesh.listenPort,
    interface: c.mesh.interface,
    configDir: c.mesh.configDir,
    persistentKeepalive: c.mesh.persistentKeepalive,
  };
}

export function k3sSettings(c: BootstrapConfig): K3sSettings {
  return {
    extraArgs: c.k3s.extraArgs,
    apiPort: c.k3s.apiPort,
    meshInterface: c.mesh.interface,
    nodeStateDir: c.nodeStateDir,
  };
}

export function buildPlan(host: Host, endpoint: string, d: StepDeps): Step[] {
  const steps: Step[] = [preflight(d.config)];
  if (d.config.mesh.enabled) steps.push(meshKeys(host, endpoint, d), meshConfig(host, d), meshPeers(d));
  if (d.config.k3s.enabled && d.config.mesh.enabled && (host.role === 'server' || host.role === 'agent'))
    steps.push(k3sJoin(host, d));
  return steps;
}

function preflight(c: BootstrapConfig): Step {
  return {
    name: 'preflight',
    timeoutMs: 30_000,
    async run(ctx) {
      const f = parseKv((await ctx.exec(shCommand(PREFLIGHT_SCRIPT, 'kickstand-preflight', []))).stdout);
      Object.assign(ctx.facts, f);
      if (f.uid !== '0')
        throw fail(
          `the ssh user is not root (uid ${f.uid}); the mesh and k3s steps need root`,
          'set bootstrap.ssh.user to root',
        );
      const missing = c.mesh.enabled ? missingTools(f, ['wg', 'ip']) : undefined;
      if (missing) throw missing;
      return { changed: false, detail: `${f.os_name ?? f.os_id ?? '?'}, ${f.kernel} ${f.arch}` };
    },
  };
}

function meshKeys(host: Host, endpoint: string, d: StepDeps): Step {
  return {
    name: 'mesh.keys',
    async run(ctx) {
      const c = d.config.mesh;
      const m = await d.store.mesh.allocate(host.name, c.cidr);
      const kv = parseKv(
        (await ctx.exec(shCommand(KEYS_SCRIPT, 'kickstand-wg-keys', [c.configDir, c.interface]))).stdout,
      );
      const pk = checkKey(kv.public_key ?? '', host.name);
      const stored = m.publicKey === pk && m.endpoint === endpoint && m.listenPort === c.listenPort;
      if (!stored) await d.store.mesh.setPeer(host.name, { publicKey: pk, endpoint, listenPort: c.listenPort });
      return { changed: kv.changed === '1' || !stored, detail: `mesh address ${m.address}, public key ${pk}` };
    },
  };
}

function meshConfig(host: Host, d: StepDeps): Step {
  return {
    name: 'mesh.config',
    async run(ctx) {
      return applyOwn(ctx, host, d);
    },
  };
}

async function applyOwn(ctx: StepContext, host: Host, d: StepDeps) {
  const s = meshSettings(d.config);
  const members = await d.store.mesh.list();
  const self = members.find((m) => m.host === host.name);
  if (!self) throw fail(`${host.name} has no mesh address`);
  const { command, stdin } = applyCommand(self, members, s);
  const r = await ctx.exec(command, { stdin });
  const peers = members.filter((m) => m.host !== host.name && m.publicKey !== null).length;
  const kv = parseKv(r.stdout);
  return {
    changed: kv.changed === '1',
    detail: `${s.interface} ${self.address} with ${peers} peers${kv.why ? `; changed:${kv.why}` : ''}`,
  };
}

function meshPeers(d: StepDeps): Step {
  return {
    name: 'mesh.peers',
    async run() {
      await d.mesh.sync();
      return { changed: false, detail: 'every live member has the current peer list' };
    },
  };
}

/** How often a waiting agent looks for the cluster's first server. */
const SERVER_POLL_MS = 1000;

function k3sJoin(host: Host, d: StepDeps): Step {
  return {
    name: 'k3s.join',
    // the installer's own time, plus the agent's bounded wait for a server (waitForServer)
    timeoutMs: Math.max(d.config.stepTimeoutMs, 60_000) + d.config.k3s.serverWaitMs,
    async run(ctx) {
      const self = await d.store.mesh.get(host.name);
      if (!self) throw fail(`${host.name} has no mesh address`);
      // Before any wait: a missing bundle is the operator's to fix, never a download from elsewhere.
      const installer = await k3sInstaller(ctx, d);
      const { ip: initIp, waitedMs } = await waitForServer(host, d);
      const inv = invocation(host.role as 'server' | 'agent', self.address, initIp, k3sSettings(d.config));
      const token = await clusterToken(d.store.settings);
      const r = await ctx.exec(shCommand(joinScript(inv, k3sSettings(d.config), installer), 'kickstand-k3s', []), {
        stdin: token + '\n',
      });
      const changed = parseKv(r.stdout).changed === '1';
      const waited =
        waitedMs >= SERVER_POLL_MS ? `, after waiting ${Math.round(waitedMs / 1000)} s for the first server` : '';
      const from =
        installer.source === 'bundle'
          ? `k3s ${installer.fetch.version} ${installer.fetch.arch} from the bundle`
          : 'k3s from installCommand';
      return {
        changed,
        detail: `${inv.role}${initIp === null ? ' (cluster init)' : ` via ${initIp}`}, ${from}${waited}`,
      };
    },
  };
}

/**
 * The installer for this node. source bundle: the imported bundle for bootstrap.k3s.version (or
 * the only one) and the node's architecture, from preflight's `uname -m` (the node knows its
 * own CPU; the host record does not carry one).
 */
async function k3sInstaller(ctx: StepContext, d: StepDeps): Promise<K3sInstaller> {
  const k = d.config.k3s;
  if (k.source === 'internet') return { source: 'internet', command: k.installCommand };
  const arch = archFromUname(ctx.facts.arch ?? '');
  if (arch === null)
    throw fail(
      `the node's architecture ${ctx.facts.arch ?? '(unknown)'} has no k3s bundle (amd64 and arm64 are imported)`,
      'set bootstrap.k3s.source: internet for this cluster',
    );
  const src = d.bundleSource();
  const bundle = await resolveBundle(src.imagesDir, k.version, arch);
  const missing = missingTools(ctx.facts, ['curl', 'sha256sum']);
  if (missing) throw missing;
  return { source: 'bundle', fetch: bundleFetch(bundle, src.publicUrl) };
}

/**
 * The init server's mesh address (null: `host` initialises the cluster). A rack PXE-boots at
 * once and agents often finish installing before the server, so an agent that finds no server
 * polls for up to `k3s.serverWaitMs`, then fails with KS_K3S_NO_SERVER; the runner bootstraps
 * it again when a server becomes ready (runner.ts). A server never waits: the first one inits.
 */
async function waitForServer(host: Host, d: StepDeps): Promise<{ ip: string | null; waitedMs: number }> {
  const t0 = Date.now();
  const budget = d.config.k3s.serverWaitMs;
  for (;;) {
    const ip = await d.clusterLock(() => initServerAddress(host, d));
    const waitedMs = Date.now() - t0;
    if (ip !== undefined) return { ip, waitedMs };
    if (waitedMs >= budget) {
      throw new KickstandError(
        ErrorCode.K3S_NO_SERVER,
        `no k3s server has initialised the cluster${budget > 0 ? ` within ${Math.round(budget / 1000)} s` : ''}: ${host.name} cannot join yet`,
        {
          fix: 'bootstrap a host with role server; this host is bootstrapped again when one becomes ready',
        },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(SERVER_POLL_MS, budget - waitedMs)));
  }
}

/** null when `host` initialises the cluster; the init server's mesh address; undefined: none yet. */
async function initServerAddress(host: Host, d: StepDeps): Promise<string | null | undefined> {
  let init = await d.store.settings.get(INIT_SERVER_SETTING);
  const initMember = init ? await d.store.mesh.get(init) : undefined;
  if (host.role === 'server' && (!init || init === host.name || !initMember)) {
    if (init !== host.name) await d.store.settings.set(INIT_SERVER_SETTING, host.name);
    init = host.name;
  }
  if (init === host.name) return null;
  const m = init ? await d.store.mesh.get(init) : undefined;
  return m?.address;
}

function fail(message: string, fix?: string): KickstandError {
  return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, message, fix ? { fix } : {});
}
