/**
 * @module test/e2e/lab/journey
 * The journey lab's flow (docs/lab.md "The journey lab"): every machine installs a real Debian
 * onto its disk, boots it, and is then bootstrapped by Kickstand itself — no operator step: its
 * trigger probes the installed host's SSH, connects with the pinned host key, builds the
 * WireGuard mesh (the Debian kernel's WireGuard) and joins k3s from the imported bundle (a
 * STAND-IN bundle: journey-k3s.ts). The lab then looks at the nodes over real OpenSSH with
 * Kickstand's own bootstrap key from Kickstand's namespace (what the mesh and the cluster
 * stand-in really did), and rebuilds the `reimage` machine: `kickstand host reimage`, power
 * cycle, reinstall, disk boot, bootstrap again, and the same observations with its new keys.
 * Checks over what is recorded here are in journey-checks.ts.
 */
import { join } from 'node:path';
import type { Host } from '../../../src/model/host';
import type { MachineRecord } from './checks';
import { OS_BANNER } from './checks';
import type { LabKickstand, MeshRow } from './kickstand';
import type { LIMITS, MachineDef } from './machines';
import type { LiveView } from './timeline';
import type { LabVm } from './vm';

/** What one node showed over SSH in one observation round. */
export interface NodeView {
  machine: string;
  /** The provisioning address the lab (and Kickstand) reached it at. */
  ip: string;
  /** The node's clock (`date +%s`), to age WireGuard handshakes by. */
  now?: number;
  /** `wg show wg0 dump` peer lines (public key, endpoint, allowed IPs, latest handshake). */
  peers?: WgPeer[];
  /** Own WireGuard public key (`wg show wg0 public-key`). */
  publicKey?: string;
  /** `ping` of each other member's mesh address over the mesh. */
  pings: Array<{ target: string; ok: boolean; summary: string }>;
  /** k3s stand-in: the unit that is active, the server's agents file, the agent's join record. */
  k3sUnit?: string;
  k3sActive?: string;
  agents?: string[];
  joined?: string;
  /** The agent's service environment names the init server's mesh address (token not read). */
  agentUrl?: string;
  error?: string;
}

export interface WgPeer {
  publicKey: string;
  endpoint: string;
  allowedIps: string;
  latestHandshake: number;
}

/** One look at the whole mesh: Kickstand's mesh table and every node's own view. */
export interface MeshRound {
  name: 'join' | 'rejoin';
  /** Epoch seconds when the round started. */
  at: number;
  mesh: MeshRow[];
  nodes: NodeView[];
  /** `kickstand inventory --format json` at that time. */
  inventory?: { hostvars: Record<string, Record<string, unknown>> } | { error: string };
}

/** The immutable rebuild of the reimage machine. */
export interface RebuildRecord {
  machine: string;
  other: string;
  /** Before: its pinned host keys and its mesh public key. */
  oldHostKeys: string[];
  oldWgKey: string | null;
  /** `kickstand host reimage NAME --yes` output and the host right after. */
  output: string;
  afterReimage?: Host;
  /** The other node's `wg show wg0 peers` right after the reimage (leaveMesh pushed). */
  otherPeersAfterReimage?: string[];
  otherPeersError?: string;
  /** After it is ready again: its pinned keys, and what OpenSSH said with only the OLD key trusted. */
  newHostKeys?: string[];
  oldKeyLogin?: { refused: boolean; said: string };
  /** Epoch seconds of the reimage command. */
  at: number;
}

export interface JourneyRecord {
  rounds: MeshRound[];
  rebuild?: RebuildRecord;
  /** Seconds since the lab started at which each machine was `ready` (first / after the rebuild). */
  ready: Record<string, number[]>;
}

export interface JourneyCtx {
  ks: LabKickstand;
  machines: MachineDef[];
  vms: Map<string, LabVm>;
  records: Map<string, MachineRecord>;
  /** Powers a machine on (records the boot's first event id). */
  boot: (name: string) => void;
  view: LiveView;
  lim: typeof LIMITS;
  workDir: string;
  /** Console lines of a network boot handing back to the firmware (lab.ts LOCAL_BOOT). */
  localBoot: RegExp;
  /** Seconds since the lab started. */
  elapsed: () => number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The whole journey of every machine; the record the checks read. */
export async function runJourney(ctx: JourneyCtx): Promise<JourneyRecord> {
  const rec: JourneyRecord = { rounds: [], ready: {} };
  const ok = await Promise.all(ctx.machines.map((m) => toReady(ctx, rec, m, 'install')));
  if (!ok.every(Boolean)) return rec;
  rec.rounds.push(await observe(ctx, 'join'));
  const target = ctx.machines.find((m) => m.reimage);
  if (target) await rebuild(ctx, rec, target);
  return rec;
}

/**
 * Install boot (until the stand-in powers off), disk boot (until the installed Debian serves
 * SSH), then Kickstand's own bootstrap until the host is `ready`. The machine stays up.
 */
async function toReady(ctx: JourneyCtx, rec: JourneyRecord, m: MachineDef, what: 'install' | 'reinstall') {
  const vm = ctx.vms.get(m.name)!;
  const r = ctx.records.get(m.name)!;
  const { view, lim } = ctx;
  ctx.boot(m.name);
  const exit = await vm.waitExit(lim.installBootMs);
  if (what === 'install') r.installExit = exit;
  else r.reinstallExit = exit;
  if (exit === 'timeout') {
    view.add(m.name, 'TIMEOUT', `${what} boot did not power off within ${lim.installBootMs / 1000} s`, 'lab', true);
    vm.kill();
    return false;
  }
  view.add(m.name, 'powered off', `QEMU exited (${exit}) after the ${what}; power on: must boot the disk`, 'lab');
  ctx.boot(m.name);
  const line = await vm.waitLine(ctx.localBoot, lim.localBootMs);
  if (what === 'install') r.localBootLine = line;
  else r.finalLocalBootLine = line;
  if (line === undefined) {
    view.add(m.name, 'TIMEOUT', `no local boot within ${lim.localBootMs / 1000} s`, 'lab', true);
    return false;
  }
  const up = await osUp(m, vm, r, view, lim, ctx.ks, r.bootStartIds.length - 1);
  if (what === 'install') {
    r.osIp = up.ip;
    r.keyscan = up.keyscan;
    r.pinnedAfterInstall = (await ctx.ks.hostShow(m.name).catch(() => undefined))?.sshHostKeys;
  } else {
    r.osIpAfterRebuild = up.ip;
    r.keyscanAfterRebuild = up.keyscan;
  }
  if (up.ip === undefined || up.keyscan.length === 0) return false;
  const host = await waitReady(ctx, m);
  if (host?.state !== 'ready') return false;
  (rec.ready[m.name] ??= []).push(ctx.elapsed());
  return true;
}

/**
 * The installed Debian, booted from the disk: its login banner on ttyS0, the address it leased
 * from Kickstand (its `dhcp.ack` of boot `bootIndex` decided `local`: not a network-boot
 * client), and the host key its sshd serves, read with ssh-keyscan from Kickstand's namespace
 * (retried: sshd may start after the getty).
 */
export async function osUp(
  m: MachineDef,
  vm: LabVm,
  r: MachineRecord,
  view: LiveView,
  lim: typeof LIMITS,
  ks: LabKickstand,
  bootIndex = 1,
): Promise<{ ip?: string; keyscan: string[] }> {
  const deadline = Date.now() + lim.localBootMs;
  if (!(await vm.waitLine(OS_BANNER, lim.localBootMs))) {
    view.add(
      m.name,
      'TIMEOUT',
      `the installed Debian showed no login banner within ${lim.localBootMs / 1000} s`,
      'lab',
      true,
    );
    return { keyscan: [] };
  }
  const since = r.bootStartIds[bootIndex] ?? 0;
  let ip: string | undefined;
  while (ip === undefined && Date.now() < deadline) {
    const ack = ks.events
      .filter((e) => e.mac === m.mac && e.id >= since && e.kind === 'dhcp.ack' && e.data.boot === 'local')
      .pop();
    if (ack) ip = String(ack.data.ip);
    else await delay(1000);
  }
  if (ip === undefined) {
    view.add(m.name, 'TIMEOUT', 'no dhcp.ack for the installed system', 'lab', true);
    return { keyscan: [] };
  }
  let keyscan: string[] = [];
  do {
    keyscan = await ks.keyscan(ip);
    if (keyscan.length === 0) await delay(2000);
  } while (keyscan.length === 0 && Date.now() < deadline);
  const key = keyscan.map((l) => l.split(' ').slice(1, 3).join(' ')).join(', ');
  view.add(
    m.name,
    'sshd',
    keyscan.length
      ? `ssh-keyscan ${ip} (from Kickstand's namespace): ${key.slice(0, 70)}…`
      : `ssh-keyscan ${ip}: no answer`,
    'lab',
    keyscan.length === 0,
  );
  return { ip, keyscan };
}

/** Polls the host until Kickstand's own bootstrap made it `ready` (bounded by lim.bootstrapMs). */
async function waitReady(ctx: JourneyCtx, m: MachineDef): Promise<Host | undefined> {
  const deadline = Date.now() + ctx.lim.bootstrapMs;
  let host: Host | undefined;
  while (Date.now() < deadline) {
    host = await ctx.ks.hostShow(m.name).catch(() => undefined);
    if (host?.state === 'ready') return host;
    await delay(3000);
  }
  ctx.view.add(
    m.name,
    'TIMEOUT',
    `not ready within ${ctx.lim.bootstrapMs / 1000} s of sshd answering (state ${host?.state ?? '?'})`,
    'lab',
    true,
  );
  return host;
}

/**
 * What every node shows: its WireGuard interface and peers, a ping of every other member's
 * mesh address (pings first, so handshakes are fresh), and the k3s stand-in's records.
 */
export async function observe(ctx: JourneyCtx, name: MeshRound['name']): Promise<MeshRound> {
  const at = Math.floor(Date.now() / 1000);
  const mesh = ctx.ks.mesh();
  const nodes: NodeView[] = [];
  for (const m of ctx.machines) {
    const host = await ctx.ks.hostShow(m.name).catch(() => undefined);
    const ip = ctx.records.get(m.name)?.osIpAfterRebuild ?? ctx.records.get(m.name)?.osIp;
    const v: NodeView = { machine: m.name, ip: ip ?? '?', pings: [] };
    nodes.push(v);
    if (!host || !ip) {
      v.error = 'no host record or no address';
      continue;
    }
    const sh = (cmd: string) => ctx.ks.ssh(ip, host.sshHostKeys, cmd, join(ctx.workDir, `known_hosts-${m.name}`));
    try {
      for (const peer of mesh.filter((x) => x.host !== m.name)) {
        const p = await sh(`ping -n -c 3 -i 0.5 -W 3 ${peer.address}`);
        const summary = p.stdout.split('\n').find((l) => / packets transmitted/.test(l)) ?? p.stderr.trim();
        v.pings.push({ target: `${peer.host} ${peer.address}`, ok: p.code === 0, summary });
      }
      const wg = await sh('date +%s; wg show wg0 public-key; wg show wg0 dump | tail -n +2');
      if (wg.code !== 0) throw new Error(`wg show: ${wg.stderr.trim() || `exit ${wg.code}`}`);
      const [now, pub, ...peers] = wg.stdout.trim().split('\n');
      v.now = Number(now);
      v.publicKey = pub?.trim();
      v.peers = peers.filter((l) => l.trim()).map(parseWgPeer);
      const k3s = await sh(
        [
          'for u in k3s k3s-agent; do if [ -f /etc/systemd/system/$u.service ]; then echo "unit=$u $(systemctl is-active $u)"; fi; done',
          'sed "s/^/agents=/" /var/lib/rancher/k3s/server/agents 2>/dev/null || true',
          'sed "s/^/joined=/" /var/lib/rancher/k3s/agent/joined 2>/dev/null || true',
          // the agent's K3S_URL only: the token in the same file is never read
          'sed -n "s/^K3S_URL=/url=/p" /etc/systemd/system/k3s-agent.service.env 2>/dev/null || true',
        ].join('; '),
      );
      for (const l of k3s.stdout.split('\n')) {
        const [k, ...rest] = l.split('=');
        const val = rest.join('=');
        if (k === 'unit') [v.k3sUnit, v.k3sActive] = val.split(' ');
        else if (k === 'agents') (v.agents ??= []).push(val);
        else if (k === 'joined') v.joined = val;
        else if (k === 'url') v.agentUrl = val;
      }
    } catch (e) {
      v.error = (e as Error).message;
    }
    ctx.view.add(
      m.name,
      name === 'join' ? 'mesh' : 'mesh again',
      v.error
        ? `ssh ${ip}: ${v.error}`
        : `wg0 ${v.peers?.length ?? 0} peer(s); ping ${v.pings.map((p) => `${p.target.split(' ')[1]} ${p.ok ? 'ok' : 'FAILED'}`).join(', ')}; ${v.k3sUnit ?? 'no k3s unit'} ${v.k3sActive ?? ''}`,
      'lab',
      v.error !== undefined || v.pings.some((p) => !p.ok),
    );
  }
  let inventory: MeshRound['inventory'];
  try {
    const inv = JSON.parse(await ctx.ks.cli(['inventory', '--format', 'json'])) as {
      _meta?: { hostvars?: Record<string, Record<string, unknown>> };
    };
    inventory = { hostvars: inv._meta?.hostvars ?? {} };
  } catch (e) {
    inventory = { error: (e as Error).message };
  }
  return { name, at, mesh, nodes, inventory };
}

export function parseWgPeer(line: string): WgPeer {
  // wg(8) dump, peer lines: public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive
  const f = line.split('\t');
  return { publicKey: f[0] ?? '', endpoint: f[2] ?? '', allowedIps: f[3] ?? '', latestHandshake: Number(f[4] ?? 0) };
}

/**
 * The immutable rebuild: `kickstand host reimage NAME --yes` (it leaves the mesh: the other node's
 * peer list drops its key at once), power cycle (the lab's hand on the power button; no BMC), the
 * reinstall and disk boot, Kickstand's bootstrap again, then a second look at the mesh.
 */
async function rebuild(ctx: JourneyCtx, rec: JourneyRecord, m: MachineDef): Promise<void> {
  const other = ctx.machines.find((x) => x.name !== m.name)!;
  const before = await ctx.ks.hostShow(m.name);
  const at = Math.floor(Date.now() / 1000);
  const rb: RebuildRecord = {
    machine: m.name,
    other: other.name,
    oldHostKeys: before.sshHostKeys,
    oldWgKey: ctx.ks.mesh().find((x) => x.host === m.name)?.publicKey ?? null,
    output: '',
    at,
  };
  rec.rebuild = rb;
  const r = ctx.records.get(m.name)!;
  try {
    rb.output = (await ctx.ks.cli(['host', 'reimage', m.name, '--yes'])).trim();
  } catch (e) {
    rb.output = `failed: ${(e as Error).message}`;
  }
  r.reimageOutput = rb.output;
  ctx.view.add(m.name, 'reimage', `kickstand host reimage ${m.name} --yes → ${rb.output}`, 'lab');
  rb.afterReimage = await ctx.ks.hostShow(m.name).catch(() => undefined);
  const o = ctx.records.get(other.name)!;
  const oh = await ctx.ks.hostShow(other.name).catch(() => undefined);
  if (oh && o.osIp) {
    const p = await ctx.ks.ssh(
      o.osIp,
      oh.sshHostKeys,
      'wg show wg0 peers',
      join(ctx.workDir, `known_hosts-${other.name}`),
    );
    if (p.code === 0) rb.otherPeersAfterReimage = p.stdout.split('\n').filter((l) => l.trim());
    else rb.otherPeersError = p.stderr.trim() || `exit ${p.code}`;
  }
  ctx.view.add(
    other.name,
    'mesh',
    `after the reimage of ${m.name}: wg0 peers ${rb.otherPeersAfterReimage?.length ?? '?'}${rb.otherPeersAfterReimage?.includes(rb.oldWgKey ?? '') ? ` (STILL has ${m.name}'s old key)` : `, ${m.name}'s old key gone`}`,
    'lab',
  );
  const vm = ctx.vms.get(m.name)!;
  vm.kill(); // the power button: reimage re-armed netboot, so the next power-on installs
  await vm.waitExit(10_000);
  if (!(await toReady(ctx, rec, m, 'reinstall'))) return;
  const now = await ctx.ks.hostShow(m.name);
  rb.newHostKeys = now.sshHostKeys;
  // Only the OLD key trusted: OpenSSH must refuse the rebuilt node (its sshd has the new key).
  const ip = r.osIpAfterRebuild!;
  const old = await ctx.ks.ssh(ip, rb.oldHostKeys, 'true', join(ctx.workDir, `known_hosts-${m.name}-old`));
  rb.oldKeyLogin = {
    refused: old.code !== 0 && /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(old.stderr),
    said: (
      old.stderr
        .trim()
        .split('\n')
        .find((l) => /verification|IDENTIFICATION/i.test(l)) ?? old.stderr.trim()
    ).slice(0, 160),
  };
  rec.rounds.push(await observe(ctx, 'rejoin'));
}
