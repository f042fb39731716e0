/**
 * @module test/e2e/lab/lab
 * The end-to-end PXE lab: real firmware in QEMU boots through Kickstand alone.
 *   1. network (topology.ts), boot assets + installer stand-in (assets.ts), lab config;
 *   2. `kickstand serve` in its namespace; `kickstand host add` for the BIOS and UEFI machines;
 *   3. both install at once (DHCP → iPXE → script → kernel + initrd → kickstart → %pre →
 *      install tree → %post → power off), then boot again and must boot local disk;
 *      the unregistered machine boots meanwhile and must only be discovered;
 *   4. checks (checks.ts) over Kickstand's timeline/API and the consoles; summary table.
 * The journey scenario gives each machine a disk: the stand-in writes a real Debian 12 onto it
 * (rootfs.ts), and the second boot must come up from the disk as that Debian, lease its address
 * from Kickstand and serve the SSH host key %post reported (ssh-keyscan from Kickstand's side).
 * Everything is torn down in `finally` (and by the caller's signal handlers via `abort()`).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostEvent } from '../../../src/model/event';
import { native } from '../../../src/native';
import { prepareAssets } from './assets';
import {
  checkDhcpWarmUp,
  checkInstalled,
  checkJourney,
  checkNativePaths,
  checkOneAddress,
  checkSiteLease,
  checkStray,
  type Check,
  type MachineRecord,
} from './checks';
import { labK3sRelease } from './journey-k3s';
import { checkBootstrapJourney } from './journey-checks';
import { osUp, runJourney, type JourneyRecord } from './journey';
import { checkFirmware } from './firmware-checks';
import { LabKickstand, writeLabConfig } from './kickstand';
import { LIMITS, SCENARIOS, type MachineDef, type Scenario } from './machines';
import { startSiteDhcp, type SiteDhcp } from './site-dhcp';
import { startRelay, type RelaySegment } from './relay';
import { checkRelay } from './relay-checks';
import { debianKernel, ensurePrereqs } from './prereqs';
import { debianRootfs, rootfsCacheDir } from './rootfs';
import { LiveView, eventDetail, stepOfConsole, stepOfEvent, table } from './timeline';
import { createLabNet, type LabNet } from './topology';
import { LabVm } from './vm';

export interface LabOptions {
  out: (s: string) => void;
  color: boolean;
  verbose: boolean;
  /** apt-get install missing Debian packages (the demo); the test only checks. */
  installPrereqs: boolean;
  keep: boolean;
  accel: string;
  /** Which lab: `pxe` (default, Kickstand alone), `proxy` (beside dnsmasq), `journey`, `firmware`. */
  scenario?: Scenario['name'];
}

export interface LabResult {
  ok: boolean;
  wallSeconds: number;
  checks: Check[];
  workDir: string;
}

interface Running {
  workDir?: string;
  net?: LabNet;
  ks?: LabKickstand;
  site?: SiteDhcp;
  relay?: RelaySegment;
  vms: LabVm[];
}

const running: Running = { vms: [] };

/**
 * Synchronous teardown for signal/exit handlers: VMs, Kickstand, namespaces (by our PIDs).
 * Returns the work dir of an interrupted run (kept: serial logs, kickstand.log), if any.
 */
export function abort(): string | undefined {
  for (const vm of running.vms) vm.kill();
  running.ks?.killNow();
  running.site?.killNow();
  running.relay?.killNow();
  running.net?.destroy();
  running.vms = [];
  running.ks = undefined;
  running.site = undefined;
  running.relay = undefined;
  running.net = undefined;
  const dir = running.workDir;
  running.workDir = undefined;
  return dir;
}

/**
 * Console lines that show a network boot handed the machine back to its firmware (local disk).
 * OVMF's own PXE, offered no boot file (a registered host not armed), retries DHCP on the PXE
 * schedule and then says it failed to load its PXEv4 boot option: it moves on to the next one.
 */
export const LOCAL_BOOT =
  /^Nothing to boot|^Kickstand: .*(booting the local disk|not registered)|No more network devices|No bootable device|BdsDxe: No bootable option|BdsDxe: failed to load Boot\d+ "UEFI (PXEv4|HTTPv4)/;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The scenario's time bounds. */
export function limitsOf(sc: Scenario): typeof LIMITS {
  return { ...LIMITS, ...sc.limits };
}

/** Size of each journey machine's disk (a sparse raw file in the work dir). */
const DISK_BYTES = 4 * 1024 ** 3;

export async function runLab(o: LabOptions): Promise<LabResult> {
  const t0 = Date.now();
  const say = (s: string): void => o.out(o.color ? `\x1b[1m${s}\x1b[0m` : s);
  const sc = SCENARIOS[o.scenario ?? 'pxe'];
  ensurePrereqs(say, o.installPrereqs, sc.name === 'journey', sc.name === 'firmware', sc.relay !== undefined);
  const kver = debianKernel();
  if (!kver) throw new Error('no Debian kernel image with modules in /boot (apt-get install linux-image-amd64)');
  const workDir = mkdtempSync(join(tmpdir(), 'kickstand-lab-'));
  running.workDir = workDir;
  let ok = false;
  const view = new LiveView(o.out, o.color);
  try {
    say(`Kickstand lab (${sc.name}): real firmware in QEMU (${o.accel.toUpperCase()}) boots through ${sc.title}`);
    const ks = await startKickstand(o, sc, workDir, kver);
    const lab = makeMachines(o, sc, ks.net, workDir, view);
    const lastId = followTimeline(ks.kickstand, sc, o, view);
    const journey = await registerAndBoot(o, sc, ks.kickstand, lab, lastId, view, workDir, t0);
    const checks = await collectChecks(ks.kickstand, sc, lab.records, journey);
    ok = checks.every((c) => c.ok);
    o.out('');
    printSummary(o, checks, lab.records, view, (Date.now() - t0) / 1000);
    if (!ok) printFailure(o, checks, lab.records, ks.kickstand);
    return { ok, wallSeconds: (Date.now() - t0) / 1000, checks, workDir };
  } finally {
    for (const vm of running.vms) vm.kill();
    await running.ks?.stop();
    running.site?.killNow();
    running.relay?.killNow();
    running.net?.destroy();
    running.vms = [];
    running.ks = undefined;
    running.site = undefined;
    running.relay = undefined;
    running.net = undefined;
    running.workDir = undefined;
    if (ok && !o.keep) rmSync(workDir, { recursive: true, force: true });
    else o.out(`lab files kept in ${workDir} (serial logs, kickstand.log, config)`);
  }
}

/** Network, boot assets, lab config and `kickstand serve` (ready). */
async function startKickstand(
  o: LabOptions,
  sc: Scenario,
  workDir: string,
  kver: string,
): Promise<{ net: LabNet; kickstand: LabKickstand }> {
  const net = createLabNet(sc.machines.length, sc.third, sc.tagPrefix);
  running.net = net;
  o.out(
    `  network   ${net.subnet} in namespaces ${net.vmNs} (bridge + taps) and ${net.ksNs} (Kickstand ${net.serverIp})`,
  );
  if (sc.dhcpMode === 'proxy') {
    running.site = await startSiteDhcp(net, workDir);
    o.out(
      `  site DHCP dnsmasq on ${running.site.ip} (namespace ${running.site.ns}) leases ${net.poolStart}-${net.poolEnd}; Kickstand answers PXE clients only (proxyDHCP, ports 67 and 4011)`,
    );
  }
  if (sc.relay) {
    const taps = sc.machines.flatMap((m, i) => (m.relayed ? [net.taps[i]!] : []));
    running.relay = await startRelay(net, workDir, taps, sc.relay.third, sc.relay.transit);
    const r = running.relay;
    o.out(
      `  relay     ${r.subnet} (bridge br1, ${sc.machines
        .filter((m) => m.relayed)
        .map((m) => m.name)
        .join(
          ', ',
        )}) behind ISC dhcrelay -a (namespace ${r.ns}, giaddr ${r.giaddr}, option 82 circuit id "${r.circuitId}") → Kickstand ${net.serverIp}; relay link captured`,
    );
  }
  const rootfs = sc.name === 'journey' ? debianRootfs(o.out) : undefined;
  if (rootfs)
    o.out(
      `  rootfs    Debian 12 (mmdebstrap) ${rootfs.path}: ${(rootfs.bytes / 1048576).toFixed(1)} MiB, ${rootfs.buildSeconds ? `built in ${rootfs.buildSeconds.toFixed(0)} s` : 'from the cache'}`,
    );
  const secureBoot = sc.machines.some((m) => m.kind === 'uefi-sb');
  // the arm64 packages are cached beside the rootfs (KICKSTAND_LAB_CACHE)
  const arm64 = sc.machines.some((m) => m.kind === 'arm64') ? join(rootfsCacheDir(), 'arm64') : undefined;
  const assets = prepareAssets(workDir, kver, rootfs, secureBoot, arm64);
  o.out(
    `  assets    iPXE loaders (Debian ipxe), kernel ${kver}, installer stand-in initrd ${(assets.initrdBytes / 1048576).toFixed(1)} MiB (not anaconda${rootfs ? ', writes disks' : ''}), install tree of ${assets.treeFiles.length} files`,
  );
  if (assets.arm64)
    o.out(
      `  arm64     Debian's arm64 shim, signed network GRUB and kernel ${assets.arm64.kernelVersion} (apt-get download, cached), installer stand-in initrd ${(assets.arm64.initrdBytes / 1048576).toFixed(1)} MiB of arm64 busybox + curl (not anaconda)`,
    );
  const journey = sc.name === 'journey';
  const cfg = writeLabConfig(workDir, net, assets, sc.dhcpMode, journey, secureBoot, running.relay);
  const kickstand = new LabKickstand(net, cfg);
  running.ks = kickstand;
  await kickstand.start();
  o.out(`  kickstand serving DHCP (${sc.dhcpMode}), TFTP and HTTP on ${net.serverIp}; config ${cfg.file}`);
  if (journey) {
    // Air-gapped k3s the way an operator imports it; the release is a STAND-IN (journey-k3s.ts).
    const rel = labK3sRelease(workDir);
    const out = (await kickstand.cli(['images', 'import', 'k3s', rel.dir])).trim().split('\n').pop() ?? '';
    o.out(`  k3s       kickstand images import k3s ${rel.dir}: ${out}`);
    o.out(`            a k3s STAND-IN release (published layout and checksums; its binary is not k3s: ${rel.what})`);
    o.out(
      '  bootstrap enabled: Kickstand probes installed hosts on SSH, then builds the WireGuard mesh and joins k3s by itself',
    );
  }
  return { net, kickstand };
}

interface Machines {
  vms: Map<string, LabVm>;
  records: Map<string, MachineRecord>;
}

/** One QEMU machine per scenario machine, its console lines feeding the live view. */
function makeMachines(o: LabOptions, sc: Scenario, net: LabNet, workDir: string, view: LiveView): Machines {
  const lab: Machines = { vms: new Map(), records: new Map() };
  for (const [i, def] of sc.machines.entries()) {
    const disk = def.disk ? join(workDir, `${def.name}-disk.raw`) : undefined;
    if (disk) {
      const fd = openSync(disk, 'w');
      ftruncateSync(fd, DISK_BYTES); // sparse: blank until the stand-in writes it
      closeSync(fd);
    }
    const vm = new LabVm(
      { name: def.name, kind: def.kind, mac: def.mac, tap: net.taps[i]!, disk },
      net.vmNs,
      workDir,
      o.accel,
    );
    lab.vms.set(def.name, vm);
    running.vms.push(vm);
    lab.records.set(def.name, { def, bootStartIds: [], console: vm.lines });
    vm.on('line', (l: string) => {
      const s = stepOfConsole(l);
      if (s) view.add(def.name, s.step, s.detail, 'console', s.bad);
      if (o.verbose && !s) o.out(`           ${def.name.padEnd(7)}  | ${l}`);
    });
  }
  return lab;
}

/** Follows Kickstand's timeline into the live view; returns the newest event id seen. */
function followTimeline(ks: LabKickstand, sc: Scenario, o: LabOptions, view: LiveView): () => number {
  const byMac = new Map(sc.machines.map((m) => [m.mac, m.name]));
  let lastId = 0;
  ks.follow((e: HostEvent) => {
    lastId = Math.max(lastId, e.id);
    const name =
      (e.mac && byMac.get(e.mac)) ??
      (e.host && sc.machines.find((m) => m.registered && m.name === e.host)?.name) ??
      e.host ??
      e.mac ??
      '-';
    const step = stepOfEvent(e, o.verbose);
    if (step) view.add(name, step, eventDetail(e), 'kickstand', e.level === 'error');
  });
  return () => lastId;
}

/** `kickstand host add` for the registered machines, then every machine's flow, bounded. */
async function registerAndBoot(
  o: LabOptions,
  sc: Scenario,
  ks: LabKickstand,
  lab: Machines,
  lastId: () => number,
  view: LiveView,
  workDir: string,
  t0: number,
): Promise<JourneyRecord | undefined> {
  o.out('  machines:');
  for (const m of sc.machines)
    o.out(
      `    ${m.name.padEnd(6)} ${m.mac}  ${m.firmware.padEnd(36)} ${m.registered ? 'registered with `kickstand host add`' : 'NOT registered'}`,
    );
  o.out('');
  view.legend();
  view.header();
  await Promise.all(
    sc.machines
      .filter((x) => x.registered)
      .map(async (m) => {
        const role = m.role ?? 'agent';
        const profile = m.profile ?? 'lab';
        const h = await ks.hostAdd(m.name, m.mac, profile, role);
        view.add(
          m.name,
          'registered',
          `kickstand host add ${m.name} --mac ${m.mac} --profile ${profile} --role ${role} → ${h.state}`,
          'lab',
        );
      }),
  );
  await delay(300); // let the follower print the registration events first
  const boot = (name: string): void => {
    lab.records.get(name)!.bootStartIds.push(lastId() + 1);
    const vm = lab.vms.get(name)!;
    vm.start();
    view.add(name, 'power on', `boot ${vm.boots}: ${sc.machines.find((m) => m.name === name)!.firmware}`, 'lab');
  };
  const reimage = async (name: string): Promise<string> => {
    const out = (await ks.cli(['host', 'reimage', name, '--yes'])).trim();
    view.add(name, 'reimage', `kickstand host reimage ${name} --yes → ${out}`, 'lab');
    return out;
  };
  const lim = limitsOf(sc);
  let journey: JourneyRecord | undefined;
  const flows =
    sc.name === 'journey'
      ? [
          runJourney({
            ks,
            machines: sc.machines,
            vms: lab.vms,
            records: lab.records,
            boot,
            view,
            lim,
            workDir,
            localBoot: LOCAL_BOOT,
            elapsed: () => (Date.now() - t0) / 1000,
          }).then((r) => void (journey = r)),
        ]
      : sc.machines.map((m) =>
          m.registered
            ? installFlow(m, lab.vms.get(m.name)!, lab.records.get(m.name)!, boot, view, reimage, lim, ks)
            : strayFlow(m, lab.vms.get(m.name)!, boot, view),
        );
  let labTimer: NodeJS.Timeout | undefined;
  const labTimeout = new Promise<void>((resolve) => {
    labTimer = setTimeout(() => {
      view.add('lab', 'TIMEOUT', `lab exceeded ${lim.labMs / 1000} s`, 'lab', true);
      resolve();
    }, lim.labMs);
  });
  await Promise.race([Promise.all(flows), labTimeout]);
  clearTimeout(labTimer);
  for (const vm of lab.vms.values()) vm.kill();
  await delay(500); // last events (callbacks) reach the follower
  return journey;
}

/** Every machine's checks, from the API (host show/list) and the recorded timeline. */
async function collectChecks(
  ks: LabKickstand,
  sc: Scenario,
  records: Map<string, MachineRecord>,
  journey: JourneyRecord | undefined,
): Promise<Check[]> {
  const checks: Check[] = [];
  const hosts = await ks.hostList();
  const leases = ks.leases();
  const siteLeases = running.site?.leases() ?? [];
  for (const m of sc.machines) {
    const r = records.get(m.name)!;
    if (m.registered) {
      r.host = await ks.hostShow(m.name);
      checks.push(...checkInstalled(r, ks.events, sc.dhcpMode));
      if (sc.dhcpMode === 'proxy') checks.push(checkSiteLease(r, leases, siteLeases));
    } else checks.push(...checkStray(r, ks.events, hosts));
    if (m.chain) checks.push(...checkOneAddress(r, ks.events, leases));
    if (m.disk) checks.push(...checkJourney(r, ks.events));
    if (m.relayed) {
      const seg = running.relay;
      checks.push(
        ...checkRelay(r, ks.events, leases, seg?.frames() ?? [], {
          subnet: seg?.subnet ?? 'no relay segment',
          giaddr: seg?.giaddr ?? '-',
          circuitId: seg?.circuitId ?? '-',
        }),
      );
    }
    checks.push(...checkFirmware(r, ks.events));
  }
  if (sc.name === 'journey')
    checks.push(...checkBootstrapJourney(sc.machines, journey ?? { rounds: [], ready: {} }, ks.events));
  const metrics = await ks.metrics().catch((e: unknown) => `# metrics unavailable: ${(e as Error).message}`);
  checks.push(
    ...checkNativePaths(
      metrics,
      native() !== null,
      process.env.CI === 'true',
      sc.machines.some((m) => m.kind === 'uefi-pxe' || m.kind === 'uefi-sb' || m.kind === 'arm64'),
    ),
  );
  checks.push(checkDhcpWarmUp(readFileSync(ks.cfg.logFile, 'utf8')));
  return checks;
}

/**
 * Install boot (until the stand-in powers off), then the second boot (until local boot; with a
 * disk, until the installed Debian serves SSH); for a reimage machine then `kickstand host
 * reimage`, a reinstall boot and a last local boot.
 */
async function installFlow(
  m: MachineDef,
  vm: LabVm,
  r: MachineRecord,
  boot: (n: string) => void,
  view: LiveView,
  reimage: (n: string) => Promise<string>,
  lim: typeof LIMITS,
  ks: LabKickstand,
): Promise<void> {
  const os = m.disk
    ? async (): Promise<void> => {
        const up = await osUp(m, vm, r, view, lim, ks);
        r.osIp = up.ip;
        r.keyscan = up.keyscan;
      }
    : undefined;
  r.installExit = await installThenLocal(m, vm, boot, view, 'install', (line) => (r.localBootLine = line), lim, os);
  if (!m.reimage || r.localBootLine === undefined) return;
  await vm.waitExit(10_000);
  r.reimageOutput = await reimage(m.name).catch((e: unknown) => `failed: ${(e as Error).message}`);
  r.reinstallExit = await installThenLocal(
    m,
    vm,
    boot,
    view,
    'reinstall',
    (line) => (r.finalLocalBootLine = line),
    lim,
  );
}

/**
 * One boot that must install and power off, then one that must boot local (the line it
 * printed); `os`, when given, follows the local boot into the installed system.
 */
async function installThenLocal(
  m: MachineDef,
  vm: LabVm,
  boot: (n: string) => void,
  view: LiveView,
  what: string,
  local: (line: string | undefined) => void,
  lim: typeof LIMITS,
  os?: () => Promise<void>,
): Promise<number | null | 'timeout'> {
  boot(m.name);
  const exit = await vm.waitExit(lim.installBootMs);
  if (exit === 'timeout') {
    view.add(m.name, 'TIMEOUT', `${what} boot did not power off within ${lim.installBootMs / 1000} s`, 'lab', true);
    vm.kill();
    return exit;
  }
  view.add(
    m.name,
    'powered off',
    `QEMU exited (${exit}) after the ${what}; booting it again: must boot local disk, not reinstall`,
    'lab',
    exit !== 0,
  );
  boot(m.name);
  const line = await vm.waitLine(LOCAL_BOOT, lim.localBootMs);
  local(line);
  if (os && line !== undefined) await os();
  else await delay(1000);
  vm.kill();
  return exit;
}

/** The unregistered machine: boots once; Kickstand must only record it. */
async function strayFlow(m: MachineDef, vm: LabVm, boot: (n: string) => void, view: LiveView): Promise<void> {
  await delay(20_000); // start after the two installs got going (2 cores)
  boot(m.name);
  const line = await vm.waitLine(new RegExp(`${LOCAL_BOOT.source}|^standin: started`), LIMITS.strayMs);
  if (!line) view.add(m.name, 'TIMEOUT', `no local boot within ${LIMITS.strayMs / 1000} s`, 'lab', true);
  await delay(1000);
  vm.kill();
}

function printSummary(
  o: LabOptions,
  checks: Check[],
  records: Map<string, MachineRecord>,
  view: LiveView,
  wall: number,
): void {
  const rows: string[][] = [];
  const journey = [...records.values()].some((r) => r.def.disk);
  for (const [name, r] of records) {
    const mine = checks.filter((c) => c.machine === name);
    const first = (step: string): string => {
      const s = view.steps.find((x) => x.machine === name && x.step === step);
      return s ? `${s.t.toFixed(0)}s` : '-';
    };
    rows.push([
      name,
      r.def.firmware,
      r.def.registered ? 'yes' : 'no',
      first('DHCP'),
      first('kernel'),
      first('kickstart'),
      first('installed'),
      first('local boot'),
      ...(journey ? [first('OS up'), first('sshd'), first('mesh'), first('cluster'), first('bootstrapped')] : []),
      r.host?.state ?? (r.def.registered ? '?' : 'discovered'),
      mine.every((c) => c.ok)
        ? 'PASS'
        : `FAIL (${mine
            .filter((c) => !c.ok)
            .map((c) => c.step)
            .join(', ')})`,
    ]);
  }
  o.out(
    table(
      [
        'machine',
        'firmware',
        'registered',
        'DHCP',
        'kernel',
        'kickstart',
        'installed',
        'local boot',
        ...(journey ? ['OS up', 'sshd', 'mesh', 'cluster', 'ready'] : []),
        'final state',
        'result',
      ],
      rows,
    ),
  );
  o.out('');
  o.out(
    table(
      ['machine', 'check', 'ok', 'evidence'],
      checks.map((c) => [c.machine, c.step, c.ok ? 'ok' : 'FAIL', c.detail.slice(0, 100)]),
    ),
  );
  o.out('');
  const ok = checks.every((c) => c.ok);
  o.out(
    view.paint(
      ok ? '\x1b[32;1m' : '\x1b[31;1m',
      `lab ${ok ? 'PASSED' : 'FAILED'}: ${checks.filter((c) => c.ok).length}/${checks.length} checks, wall time ${wall.toFixed(0)} s`,
    ),
  );
}

function printFailure(o: LabOptions, checks: Check[], records: Map<string, MachineRecord>, ks: LabKickstand): void {
  for (const name of new Set(checks.filter((c) => !c.ok).map((c) => c.machine))) {
    const r = records.get(name)!;
    o.out(`\n--- ${name}: Kickstand timeline (API) ---`);
    for (const e of ks.events.filter((e) => e.mac === r.def.mac || e.host === name))
      o.out(`  #${e.id} ${e.ts} ${e.kind} ${e.message} ${JSON.stringify(e.data)}`);
    o.out(`--- ${name}: serial console, last 40 lines ---`);
    for (const l of r.console.slice(-40)) o.out(`  | ${l}`);
  }
  o.out('\n--- kickstand daemon log, last 40 lines ---');
  for (const l of ks.logTail(40)) o.out(`  ${l}`);
}
