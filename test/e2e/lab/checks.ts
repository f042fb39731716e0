/**
 * @module test/e2e/lab/checks
 * What the lab asserts, read from Kickstand's own timeline and API and from each machine's
 * serial console. Pure functions over what was recorded, so a failure can name the step.
 */
import type { HostEvent } from '../../../src/model/event';
import type { Host } from '../../../src/model/host';
import type { MachineDef } from './machines';
import { dataText } from './timeline';

export interface Check {
  machine: string;
  step: string;
  ok: boolean;
  detail: string;
}

/** What the runner recorded about one machine. */
export interface MachineRecord {
  def: MachineDef;
  /** Event ids: the first event id committed at/after each boot's power-on. */
  bootStartIds: number[];
  /** Console lines of every boot, in order, with "----- power on" separators. */
  console: string[];
  /** QEMU exit code of the install boot ('timeout' when it did not power off by itself). */
  installExit?: number | null | 'timeout';
  /** Local boot seen on the console in the second boot. */
  localBootLine?: string;
  /** Reimage machines: what `kickstand host reimage` printed, the reinstall boot's exit, the last local boot. */
  reimageOutput?: string;
  reinstallExit?: number | null | 'timeout';
  finalLocalBootLine?: string;
  host?: Host;
  /** Journey lab: the address the installed Debian leased, and what ssh-keyscan read from it. */
  osIp?: string;
  keyscan?: string[];
  /** Journey lab: the host keys Kickstand had pinned when the installed system first came up. */
  pinnedAfterInstall?: string[];
  /** Journey lab, the rebuilt machine: its address and ssh-keyscan after the reinstall. */
  osIpAfterRebuild?: string;
  keyscanAfterRebuild?: string[];
}

const mine = (m: MachineDef) => (e: HostEvent) => e.mac === m.mac || (m.registered && e.host === m.name);

function kindIn(events: HostEvent[], kind: string | RegExp): HostEvent[] {
  return events.filter((e) => (typeof kind === 'string' ? e.kind === kind : kind.test(e.kind)));
}

function assetPath(e: HostEvent): string {
  return dataText(e.data.path ?? e.data.file ?? e.data.url ?? e.message);
}

function stateChanges(events: HostEvent[], to: string): HostEvent[] {
  return events.filter((e) => (e.kind === 'host.state' && e.data.to === to) || e.kind === `install.${to}`);
}

/** Console lines of boot `n` (1-based), between the lab's "power on" separators. */
export function bootLines(lines: string[], n: number): string[] {
  const out: string[] = [];
  let boot = 0;
  for (const l of lines) {
    if (/^----- .*: power on \(boot \d+\) -----$/.test(l)) boot += 1;
    else if (boot === n) out.push(l);
  }
  return out;
}

/** The ed25519 host key the stand-in's %post printed (the lab kickstart echoes it). */
export function consoleHostKey(lines: string[]): string | undefined {
  // The last one: a reimaged machine printed a new key in its reinstall, and that is the pin.
  for (const l of [...lines].reverse()) {
    const m = l.match(/(ssh-ed25519 [A-Za-z0-9+/=]+)/);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Checks for a registered machine: the install boot, then the local boot. In proxy mode the
 * DHCP steps are Kickstand's proxy answers (`dhcp.proxy`); the address comes from the site's
 * DHCP server (checkSiteLease).
 */
export function checkInstalled(
  r: MachineRecord,
  all: HostEvent[],
  dhcpMode: 'authoritative' | 'proxy' = 'authoritative',
): Check[] {
  const m = r.def;
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const ev = all.filter(mine(m));
  const boot2 = r.bootStartIds[1] ?? Number.MAX_SAFE_INTEGER;
  const boot3 = r.bootStartIds[2] ?? Number.MAX_SAFE_INTEGER;
  const first = ev.filter((e) => e.id >= (r.bootStartIds[0] ?? 0) && e.id < boot2);
  const second = ev.filter((e) => e.id >= boot2 && e.id < boot3);
  const dhcpKind = dhcpMode === 'proxy' ? 'dhcp.proxy' : 'dhcp.ack';
  const ack = kindIn(first, dhcpKind);
  add('DHCP', ack.length > 0, ack.length ? ack.map((e) => e.message).join(' | ') : `no ${dhcpKind} for this MAC`);
  // The Secure Boot chain's GRUB gets its config, kernel and initrd over TFTP (docs/firmware.md).
  const scriptKind = m.grub ? 'tftp.grub' : 'http.ipxe';
  const script = kindIn(first, scriptKind);
  add(
    m.grub ? 'GRUB config' : 'iPXE script',
    script.length > 0,
    script.length ? script.map((e) => e.message).join(' | ') : `no ${scriptKind} event`,
  );
  // Kernel and initrd: Kickstand's http.asset events (tftp.done for GRUB), else iPXE's own
  // "URL... ok" console line for a URL of Kickstand's (no other server exists on the lab network).
  const assets = kindIn(first, m.grub ? 'tftp.done' : 'http.asset').map(assetPath);
  const boot1 = bootLines(r.console, 1);
  for (const [step, re] of [
    ['kernel', /vmlinuz/],
    ['initrd', /initrd/],
  ] as const) {
    const ev = assets.find((p) => re.test(p));
    const seen = boot1.find((l) => re.test(l) && /^http:\/\/\S+\.\.\. ok/.test(l));
    add(
      step,
      ev !== undefined || seen !== undefined,
      ev
        ? `${m.grub ? 'tftp.done' : 'http.asset'} ${ev}`
        : seen
          ? `iPXE console: ${seen} (no http.asset event on the timeline)`
          : `no ${step} download (http.asset events: ${assets.join(', ') || 'none'})`,
    );
  }
  const ks = kindIn(first, 'kickstart.fetched');
  add(
    'kickstart',
    ks.length === 1,
    ks.length === 1 ? ks[0]!.message : `kickstart.fetched ${ks.length} times (want exactly 1: one-time token)`,
  );
  add(
    '%pre callback',
    stateChanges(first, 'installing').length > 0,
    stateChanges(first, 'installing')[0]?.message ?? 'no installing callback',
  );
  const tree = r.console.find((l) => l.startsWith('standin: install tree:'));
  add('install tree', tree !== undefined, tree ?? 'stand-in did not verify the install tree');
  add(
    '%post callback',
    stateChanges(first, 'installed').length > 0,
    stateChanges(first, 'installed')[0]?.message ?? 'no installed callback',
  );
  const key = consoleHostKey(r.console);
  const keys = r.host?.sshHostKeys ?? [];
  add(
    'SSH host key',
    key !== undefined && keys.some((k) => k.startsWith(key)),
    key
      ? keys.some((k) => k.startsWith(key))
        ? `${key.slice(0, 40)}… recorded`
        : `console key ${key.slice(0, 40)}… not in host.sshHostKeys [${keys.join(', ')}]`
      : 'no ssh-ed25519 key on the console',
  );
  add(
    'power off',
    r.installExit === 0,
    r.installExit === 0 ? 'stand-in powered the VM off' : `install boot ended with ${String(r.installExit)}`,
  );
  // The journey lab's bootstrap takes an installed host on to `ready`.
  const final = m.disk ? ['installed', 'bootstrapping', 'ready'] : ['installed'];
  add(
    'host installed',
    r.host !== undefined && final.includes(r.host.state) && r.host.netboot === false,
    `state=${r.host?.state ?? '?'} netboot=${String(r.host?.netboot)}`,
  );
  // Second boot: DHCP answered, local disk, nothing of the installer fetched again.
  // A firmware PXE (no iPXE ROM) offered no boot file declines the offer: no ACK, only the OFFER.
  // A firmware network boot (no iPXE ROM) declines an offer without a boot file.
  const firmwarePxe = m.chain === true || m.kind === 'uefi-sb' || m.kind === 'uefi-http' || m.kind === 'arm64';
  const answered = second.filter((e) => e.kind === dhcpKind || (firmwarePxe && e.kind === 'dhcp.offer'));
  add(
    '2nd boot DHCP',
    answered.length > 0,
    answered[0]?.message ?? `no ${dhcpKind}${firmwarePxe ? ' or dhcp.offer' : ''} in the second boot`,
  );
  // Kickstand's own decision for the second boot: the local-boot script (iPXE is handed its
  // per-host script, which for a host no longer armed boots the disk), or DHCP without a boot
  // file (a firmware PXE ROM). Never a loader or an install script.
  const local = second.filter(
    (e) =>
      ((e.kind === 'dhcp.ack' || e.kind === 'dhcp.offer') && e.data.boot === 'local') ||
      ((e.kind === 'http.ipxe' || e.kind === 'tftp.grub') && e.data.script === 'local'),
  );
  const other = second.filter(
    (e) =>
      (e.kind === 'dhcp.ack' && (e.data.boot === 'loader' || e.data.boot === 'http-boot')) ||
      ((e.kind === 'http.ipxe' || e.kind === 'tftp.grub') && e.data.script === 'install'),
  );
  add(
    'local decision',
    local.length > 0 && other.length === 0,
    local.length
      ? `${local[0]!.kind}: ${local[0]!.message} (${JSON.stringify(local[0]!.data)})`
      : `no local decision in the second boot (${other.map((e) => `${e.kind} ${JSON.stringify(e.data)}`).join('; ') || 'no events'})`,
  );
  const again = second.filter(
    (e) =>
      e.kind === 'kickstart.fetched' ||
      ((e.kind === 'http.asset' || e.kind === 'tftp.done') && /vmlinuz|initrd/.test(assetPath(e))),
  );
  add(
    'no reinstall',
    again.length === 0 && stateChanges(second, 'installing').length === 0,
    again.length
      ? `second boot fetched: ${again.map((e) => e.kind + ' ' + e.message).join('; ')}`
      : 'no kernel/initrd/kickstart in the second boot',
  );
  add('local boot', r.localBootLine !== undefined, r.localBootLine ?? 'firmware did not move on to local boot');
  if (m.reimage) c.push(...checkReimage(r, ev));
  return c;
}

/** `kickstand host reimage`: boot 3 reinstalls exactly once (new token), boot 4 boots local. */
function checkReimage(r: MachineRecord, ev: HostEvent[]): Check[] {
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void =>
    void c.push({ machine: r.def.name, step, ok, detail });
  const boot3 = r.bootStartIds[2] ?? Number.MAX_SAFE_INTEGER;
  const boot4 = r.bootStartIds[3] ?? Number.MAX_SAFE_INTEGER;
  const rearmed = ev.filter(
    (e) => e.kind === 'host.state' && e.data.to === 'armed' && /reimage/.test(dataText(e.data.cause ?? e.message)),
  );
  add(
    'reimage',
    rearmed.length === 1,
    rearmed[0]?.message ?? `not re-armed (kickstand host reimage said: ${r.reimageOutput ?? 'nothing'})`,
  );
  const third = ev.filter((e) => e.id >= boot3 && e.id < boot4);
  const ks = kindIn(third, 'kickstart.fetched');
  add(
    'reinstall once',
    ks.length === 1 && stateChanges(third, 'installed').length > 0 && r.reinstallExit === 0,
    `boot 3: kickstart fetched ${ks.length}×, ${stateChanges(third, 'installed').length ? 'installed again' : 'not installed'}, exit ${String(r.reinstallExit)}`,
  );
  const fourth = ev.filter((e) => e.id >= boot4);
  const again = fourth.filter(
    (e) => e.kind === 'kickstart.fetched' || (e.kind === 'http.asset' && /vmlinuz|initrd/.test(assetPath(e))),
  );
  add(
    'local after reimage',
    again.length === 0 && r.finalLocalBootLine !== undefined,
    again.length
      ? `boot 4 fetched: ${again.map((e) => e.kind).join(', ')}`
      : (r.finalLocalBootLine ?? 'no local boot in boot 4'),
  );
  return c;
}

/** The installed Debian's serial-getty banner (/etc/issue "Debian GNU/Linux 12 \\n \\l"). */
export const OS_BANNER = /^Debian GNU\/Linux 12 (\S+) ttyS0$/;

/**
 * The journey lab's machines, after the checks of checkInstalled: the stand-in wrote the disk,
 * the second boot came up from it as the installed Debian (its getty banner with the host
 * name from the kickstart), that Debian leased its address from Kickstand (a `dhcp.ack` that
 * decided `local`: not a network-boot client), and its sshd serves exactly the host key the
 * kickstart's %post reported (ssh-keyscan from Kickstand's namespace, the key pinned in
 * host.sshHostKeys).
 */
export function checkJourney(r: MachineRecord, all: HostEvent[]): Check[] {
  const m = r.def;
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const boot1 = bootLines(r.console, 1);
  const disk = ['partitioned', 'root filesystem extracted', 'boot loader'].map((w) =>
    boot1.find((l) => l.startsWith(`standin: ${w}`)),
  );
  add(
    'disk written',
    disk.every((l) => l !== undefined),
    disk.every((l) => l !== undefined)
      ? disk
          .map((l) => l.slice(9))
          .join('; ')
          .slice(0, 200)
      : `stand-in lines missing: ${disk
          .map((l, i) => (l ? '' : ['partitioned', 'extracted', 'boot loader'][i]))
          .filter(Boolean)
          .join(', ')}`,
  );
  const banner = bootLines(r.console, 2)
    .map((l) => l.match(OS_BANNER))
    .find((x) => x !== null);
  add(
    'OS booted from disk',
    banner?.[1] === m.name,
    banner
      ? `console: "${banner[0]}"${banner[1] === m.name ? '' : ` (host name ${banner[1]}, want ${m.name})`}`
      : 'no "Debian GNU/Linux 12 … ttyS0" login banner in the second boot',
  );
  const boot2 = r.bootStartIds[1] ?? Number.MAX_SAFE_INTEGER;
  const osAcks = all.filter((e) => mine(m)(e) && e.id >= boot2 && e.kind === 'dhcp.ack' && e.data.boot === 'local');
  const ipOk = r.osIp !== undefined && osAcks.some((e) => e.data.ip === r.osIp);
  add(
    'OS DHCP',
    ipOk,
    osAcks.length
      ? `${osAcks.map((e) => e.message).join(' | ')}; ssh-keyscan target ${r.osIp ?? 'none'}`
      : 'no dhcp.ack deciding local (a client that is not a network-boot client) in the second boot',
  );
  const pinned = consoleHostKey(bootLines(r.console, 1));
  const served = [
    ...new Set(
      (r.keyscan ?? [])
        .map((l) => l.match(/(ssh-ed25519 [A-Za-z0-9+/=]+)/)?.[1])
        .filter((k): k is string => k !== undefined),
    ),
  ];
  // What was pinned when this system came up (a rebuilt machine's record holds its new key now).
  const pinnedKeys = r.pinnedAfterInstall ?? r.host?.sshHostKeys ?? [];
  const inHost = pinned !== undefined && pinnedKeys.some((k) => k.startsWith(pinned));
  add(
    'sshd serves pinned key',
    pinned !== undefined && inHost && served.length === 1 && served[0] === pinned,
    served.length === 0
      ? `ssh-keyscan ${r.osIp ?? '(no address)'}: no ed25519 key`
      : served.length === 1 && served[0] === pinned
        ? `ssh-keyscan ${r.osIp}: ${pinned!.slice(0, 50)}… = %post's key${inHost ? ', pinned in host.sshHostKeys' : ' (NOT in host.sshHostKeys)'}`
        : `ssh-keyscan ${r.osIp}: ${served.map((k) => k.slice(0, 50)).join(', ')}; %post reported ${pinned?.slice(0, 50) ?? 'nothing'}`,
  );
  return c;
}

/** One row of Kickstand's lease table, as the lab reads it from the daemon's database. */
export interface LeaseRow {
  ip: string;
  mac: string;
  clientId: string | null;
  state: string;
}

/**
 * A machine whose firmware PXE chains into iPXE runs DHCP twice in its install boot: the
 * firmware without option 61, then iPXE with 61 = 01:<MAC>. Both must get the same address and
 * the lease table must hold one binding for the MAC (the two-leases bug: docs/dhcp.md).
 */
export function checkOneAddress(r: MachineRecord, all: HostEvent[], leases: LeaseRow[]): Check[] {
  const m = r.def;
  const boot2 = r.bootStartIds[1] ?? Number.MAX_SAFE_INTEGER;
  const acks = all.filter(
    (e) => mine(m)(e) && e.kind === 'dhcp.ack' && e.id >= (r.bootStartIds[0] ?? 0) && e.id < boot2,
  );
  const ips = [...new Set(acks.map((e) => String(e.data.ip)))];
  const kinds = acks.map((e) => String(e.data.boot));
  const rows = leases.filter((l) => l.mac === m.mac);
  return [
    {
      machine: m.name,
      step: 'ROM → iPXE DHCP',
      ok: acks.length >= 2 && kinds.includes('loader') && kinds.includes('script'),
      detail: `install boot: ${acks.length} dhcp.ack (${kinds.join(', ')}); want the firmware's (loader) and iPXE's (script)`,
    },
    {
      machine: m.name,
      step: 'one address',
      ok: ips.length === 1 && rows.length === 1 && rows[0]!.ip === ips[0],
      detail: `acked ${ips.join(', ') || 'nothing'}; lease table for ${m.mac}: ${rows.map((l) => `${l.ip} (client id ${l.clientId ?? 'none'}, ${l.state})`).join(', ') || 'no row'}`,
    },
  ];
}

/**
 * Proxy mode: the machine's address came from the site's DHCP server (its lease file names the
 * MAC) and Kickstand bound nothing (its lease table is empty).
 */
export function checkSiteLease(
  r: MachineRecord,
  kickstandLeases: LeaseRow[],
  site: Array<{ mac: string; ip: string }>,
): Check {
  const m = r.def;
  const theirs = site.filter((l) => l.mac === m.mac);
  return {
    machine: m.name,
    step: 'address from site DHCP',
    ok: theirs.length > 0 && kickstandLeases.length === 0,
    detail: `dnsmasq leased ${theirs.map((l) => l.ip).join(', ') || 'nothing'} to ${m.mac}; Kickstand lease table: ${kickstandLeases.length} rows (must be 0 in proxy mode)`,
  };
}

/** Checks for the unregistered machine: discovered, never installed. */
export function checkStray(r: MachineRecord, all: HostEvent[], hosts: Host[]): Check[] {
  const m = r.def;
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const ev = all.filter((e) => e.mac === m.mac);
  const disc = kindIn(ev, 'host.discovered');
  add('discovered', disc.length > 0, disc[0]?.message ?? 'no host.discovered event for its MAC');
  // The TFTP event of an unregistered machine may carry only its address: the one OVMF printed.
  const pxeIp = r.console
    .map((l) => l.match(/Station IP address is (\d+\.\d+\.\d+\.\d+)/)?.[1])
    .find((x) => x !== undefined);
  const loader = all.filter(
    (e) =>
      e.kind === 'tftp.done' &&
      (e.mac === m.mac ||
        (pxeIp !== undefined && (e.message.includes(pxeIp) || JSON.stringify(e.data).includes(`"${pxeIp}"`)))),
  );
  // Kickstand records TFTP transfers of unregistered machines nowhere yet; then the firmware's
  // own report counts ("NBP file downloaded successfully": TFTP from Kickstand, the only server).
  const nbp = r.console.find((l) => /NBP filename is /.test(l));
  const nbpOk = r.console.some((l) => /NBP file downloaded successfully/.test(l));
  add(
    'TFTP loader',
    loader.length > 0 || (nbp !== undefined && nbpOk),
    loader[0]
      ? `${loader[0].message} ${JSON.stringify(loader[0].data).slice(0, 80)}`
      : nbp && nbpOk
        ? `OVMF console: ${nbp.trim()}, downloaded (no tftp.done event on the timeline for an unregistered machine)`
        : `no tftp.done for ${m.mac} / ${pxeIp ?? 'no OVMF PXE address on the console'}, no NBP download on the console (OVMF PXE must fetch the iPXE loader)`,
  );
  const inst = ev.filter(
    (e) =>
      /^(kickstart\.fetched|install\.)/.test(e.kind) ||
      (e.kind === 'http.asset' && /vmlinuz|initrd/.test(assetPath(e))),
  );
  add(
    'never installed',
    inst.length === 0,
    inst.length ? inst.map((e) => e.kind).join(', ') : 'no kernel, kickstart or install callback',
  );
  const h = hosts.find((x) => x.macs.includes(m.mac));
  add(
    'not armed',
    h === undefined || (!h.netboot && h.state !== 'installed'),
    h ? `in registry as ${h.name}: state=${h.state} netboot=${String(h.netboot)}` : 'not in the registry',
  );
  return c;
}

/** The sum of a counter's samples (all label sets) in Prometheus text exposition. */
export function counterValue(metrics: string, name: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/**
 * With the native addon loaded (src/native), the firmware's downloads took the native paths:
 * TFTP loaders on a transfer thread, kernel and initrd by sendfile(2). Without it (no toolchain)
 * the JavaScript paths served them, which is allowed outside CI and a failure in it.
 */
export function checkNativePaths(metrics: string, loaded: boolean, inCi: boolean, tftpUsed = true): Check[] {
  if (!loaded)
    return [
      {
        machine: 'lab',
        step: 'native paths',
        ok: !inCi,
        detail: 'addon not loaded: JavaScript paths served TFTP and /images',
      },
    ];
  const tftp = counterValue(metrics, 'kickstand_tftp_native_transfers_total');
  const sent = counterValue(metrics, 'kickstand_http_asset_sendfile_bytes_total');
  return [
    // Only a machine without an iPXE ROM fetches a loader over TFTP (the proxy lab has none).
    ...(tftpUsed
      ? [{ machine: 'lab', step: 'TFTP native', ok: tftp > 0, detail: `${tftp} TFTP transfers on a native thread` }]
      : []),
    { machine: 'lab', step: 'HTTP sendfile', ok: sent > 0, detail: `${sent} /images body bytes sent with sendfile(2)` },
  ];
}

/**
 * `serve` warmed its DHCP path up over loopback before opening port 67 (src/dhcp/warmup.ts):
 * the daemon's log (pino JSON lines) holds the line with a positive exchange count.
 */
export function checkDhcpWarmUp(log: string): Check {
  for (const line of log.split('\n')) {
    if (!line.includes('dhcp warmed up over loopback')) continue;
    try {
      const j = JSON.parse(line) as { exchanges?: number; ms?: number };
      return {
        machine: 'lab',
        step: 'DHCP warm-up',
        ok: (j.exchanges ?? 0) > 0,
        detail: `${j.exchanges ?? 0} exchanges over loopback in ${j.ms ?? '?'} ms before port 67 opened`,
      };
    } catch {
      return { machine: 'lab', step: 'DHCP warm-up', ok: false, detail: `unparsable log line: ${line.slice(0, 120)}` };
    }
  }
  return { machine: 'lab', step: 'DHCP warm-up', ok: false, detail: 'no "dhcp warmed up" line in the daemon log' };
}
