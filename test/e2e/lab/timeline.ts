/**
 * @module test/e2e/lab/timeline
 * The lab's live, readable timeline: one line per step a machine takes, from Kickstand's own
 * events (DHCP, TFTP, iPXE script, kernel, kickstart, callbacks) and from the machine's serial
 * console (firmware, the installer stand-in, local boot). Also the final summary table.
 */
import type { HostEvent } from '../../../src/model/event';

export type Source = 'kickstand' | 'console' | 'lab';

export interface Step {
  /** Seconds since the lab started. */
  t: number;
  machine: string;
  step: string;
  detail: string;
  source: Source;
  bad?: boolean;
}

const KIND_STEP: Record<string, string> = {
  'dhcp.offer': 'DHCP offer',
  'dhcp.ack': 'DHCP',
  'dhcp.nak': 'DHCP NAK',
  'dhcp.proxy': 'DHCP',
  'tftp.start': 'loader',
  'tftp.done': 'loader',
  'tftp.failed': 'loader',
  'tftp.refused': 'loader',
  'http.ipxe': 'iPXE script',
  'tftp.grub': 'GRUB config',
  'http.refused': 'HTTP refused',
  'kickstart.fetched': 'kickstart',
  'kickstart.refused': 'kickstart',
  'install.installing': 'installing',
  'install.installed': 'installed',
  'install.callback_refused': 'callback',
  'install.timeout': 'timeout',
  'host.created': 'registered',
  'host.discovered': 'discovered',
  'host.state': 'state',
  'bootstrap.done': 'bootstrapped',
  'bootstrap.failed': 'bootstrap',
  'bootstrap.output': 'bootstrap',
  'mesh.updated': 'mesh',
  'mesh.left': 'mesh',
  'mesh.sync_failed': 'mesh',
  'cluster.removed': 'cluster',
};

/** Bootstrap plan steps (src/bootstrap/steps.ts) as the live view names them. */
const BOOTSTRAP_STEP: Record<string, string> = {
  preflight: 'bootstrap',
  'mesh.keys': 'mesh',
  'mesh.config': 'mesh',
  'mesh.peers': 'mesh',
  'k3s.join': 'cluster',
};

/** Event kinds shown only with --verbose (the rest is the story a newcomer should follow). */
const QUIET_KINDS = new Set(['dhcp.offer', 'tftp.start', 'host.updated', 'bootstrap.output']);

/** An event data value as text: a string as it is, anything else as JSON (never "[object Object]"). */
export function dataText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
}

/** The step an event is, or undefined when it is noise for the live view. */
export function stepOfEvent(e: HostEvent, verbose: boolean): string | undefined {
  if (!verbose && QUIET_KINDS.has(e.kind)) return undefined;
  // GRUB (the Secure Boot chain) takes kernel and initrd over TFTP.
  if (e.kind === 'tftp.done' && /vmlinuz|initrd/.test(dataText(e.data.path)))
    return /vmlinuz/.test(dataText(e.data.path)) ? 'kernel' : 'initrd';
  if (e.kind === 'http.asset') {
    const path = dataText(e.data.path ?? e.data.file ?? e.message);
    if (/vmlinuz|kernel/.test(path)) return 'kernel';
    if (/initrd/.test(path)) return 'initrd';
    return verbose ? 'install tree' : undefined;
  }
  if (e.kind === 'bootstrap.step') return BOOTSTRAP_STEP[dataText(e.data.step ?? '')] ?? 'bootstrap';
  return KIND_STEP[e.kind] ?? e.kind;
}

/** Console lines worth a timeline step (firmware and installer stand-in milestones). */
export function stepOfConsole(line: string): { step: string; detail: string; bad?: boolean } | undefined {
  let m: RegExpMatchArray | null;
  if ((m = line.match(/^standin: started/)))
    return { step: 'installer', detail: 'installer stand-in running (busybox + curl, not anaconda)' };
  if ((m = line.match(/^standin: running (%\w+)/))) return { step: 'kickstart', detail: `stand-in runs ${m[1]}` };
  if ((m = line.match(/^standin: install tree: (.*)/)))
    return {
      step: 'install tree',
      detail: / once\b/.test(m[1]!) ? `rootfs image: ${m[1]}` : `Range downloads (resumed + split), sha256 ok: ${m[1]}`,
    };
  if ((m = line.match(/^standin: (partitioned: .*)/))) return { step: 'disk', detail: m[1]! };
  if ((m = line.match(/^standin: root filesystem extracted: (.*)/)))
    return { step: 'image', detail: `root filesystem written: ${m[1]}` };
  if ((m = line.match(/^standin: boot loader: (.*)/))) return { step: 'boot loader', detail: m[1]!.slice(0, 100) };
  if ((m = line.match(/^Loading Linux (\S+)/)))
    return { step: 'disk boot', detail: `GRUB from the disk loads the installed kernel ${m[1]}` };
  if ((m = line.match(/^(Debian GNU\/Linux 12 \S+ ttyS0)$/)))
    return { step: 'OS up', detail: `installed Debian (systemd) up: getty says "${m[1]}"` };
  if ((m = line.match(/^standin: FAILED: (.*)/))) return { step: 'FAILED', detail: `stand-in: ${m[1]}`, bad: true };
  if ((m = line.match(/^standin: install complete/)))
    return { step: 'power off', detail: 'install done; the stand-in powers off (the "reboot")' };
  if (/^Nothing to boot/.test(line))
    return {
      step: 'local boot',
      detail: 'iPXE: no boot file from Kickstand → back to the firmware, which boots the next device',
    };
  if ((m = line.match(/^\s*URI: (http:\/\/\S+)/)))
    return { step: 'loader', detail: `OVMF HTTP Boot: fetching ${m[1]} (the URL in Kickstand's DHCP answer)` };
  if (/^Kickstand: GRUB on /.test(line))
    return { step: 'GRUB', detail: `signed GRUB runs Kickstand's config: ${line.trim().slice(11, 100)}` };
  if (/secureboot: Secure boot enabled|EFI stub: UEFI Secure Boot is enabled/.test(line))
    return { step: 'Secure Boot', detail: `kernel: ${line.replace(/^\[[^\]]*\]\s*/, '').trim()}` };
  if (/^Fetching Netboot Image /.test(line))
    return { step: 'loader', detail: `shim: ${line.trim()} over TFTP (Secure Boot chain)` };
  if (/^Kickstand: .*(booting the local disk|not registered)/.test(line))
    return { step: 'local boot', detail: `iPXE script says: ${line.trim().slice(11, 100)}` };
  if (/^BdsDxe: failed to load Boot\d+ "UEFI PXEv4.*: (Access Denied|Security Violation)$/.test(line))
    return {
      step: 'refused',
      detail: 'OVMF Secure Boot: the loader is not signed by a key in db → refused, next boot option',
      bad: false,
    };
  if ((m = line.match(/^BdsDxe: failed to load Boot\d+ "UEFI (PXEv4|HTTPv4)/)))
    return {
      step: 'local boot',
      detail: `UEFI ${m[1] === 'HTTPv4' ? 'HTTP Boot' : 'PXE'}: Kickstand's offers carry no boot file → the firmware moves on to its next boot option`,
    };
  if (/No bootable device|BdsDxe: No bootable option/.test(line))
    return { step: 'no disk', detail: `firmware found no bootable local disk: "${line.trim().slice(0, 60)}"` };
  if ((m = line.match(/^(http:\/\/\S+\/(\S*vmlinuz\S*))\.\.\. ok/)))
    return { step: 'kernel', detail: `iPXE loaded ${m[1]}` };
  if ((m = line.match(/^(http:\/\/\S+\/(\S*initrd\S*))\.\.\. ok/)))
    return { step: 'initrd', detail: `iPXE loaded ${m[1]} (installer stand-in)` };
  if ((m = line.match(/^(SeaBIOS \(version [^)]*\))/))) return { step: 'firmware', detail: m[1]! };
  if ((m = line.match(/^(iPXE \d[^ ]*) -- Open Source/))) return { step: 'iPXE', detail: `${m[1]} running` };
  if (/>>Start PXE over IPv4/.test(line))
    return { step: 'firmware', detail: 'UEFI PXE (OVMF or AAVMF, no iPXE ROM) starts DHCP' };
  if ((m = line.match(/NBP filename is (\S+)/)))
    return { step: 'loader', detail: `UEFI PXE: boot file ${m[1]} named by Kickstand's DHCP, fetching it over TFTP` };
  if (/NBP file downloaded successfully/.test(line))
    return { step: 'loader', detail: 'UEFI PXE: loader downloaded over TFTP, starting it' };
  if (/Kernel panic/.test(line)) return { step: 'FAILED', detail: line.trim().slice(0, 90), bad: true };
  return undefined;
}

export function eventDetail(e: HostEvent): string {
  const d = e.data;
  const bits: string[] = [e.message];
  if (e.kind === 'host.state' && d.to !== undefined)
    return `${dataText(d.from ?? '?')} → ${dataText(d.to)}${d.reason ? ` (${dataText(d.reason)})` : ''}`;
  return bits.join(' ').slice(0, 110);
}

const COLORS: Record<string, string> = { kickstand: '\x1b[36m', console: '\x1b[33m', lab: '\x1b[35m' };

export class LiveView {
  readonly steps: Step[] = [];
  private readonly t0 = Date.now();

  constructor(
    private readonly out: (s: string) => void,
    private readonly color: boolean,
  ) {}

  now(): number {
    return (Date.now() - this.t0) / 1000;
  }

  legend(): void {
    this.out(
      `  sources: ${this.paint(COLORS.kickstand!, '(kickstand)')} Kickstand's own timeline (API)   ${this.paint(COLORS.console!, '(console)')} the machine's serial console   ${this.paint(COLORS.lab!, '(lab)')} what the lab did`,
    );
    this.out('');
  }

  header(): void {
    this.out(
      this.paint(
        '\x1b[1m',
        `${'time'.padStart(7)}  ${'machine'.padEnd(7)}  ${'step'.padEnd(12)}  what happened  (source)`,
      ),
    );
  }

  add(machine: string, step: string, detail: string, source: Source, bad = false): void {
    const s: Step = { t: this.now(), machine, step, detail, source, bad };
    this.steps.push(s);
    const line = `${(s.t.toFixed(1) + 's').padStart(7)}  ${machine.padEnd(7)}  ${step.padEnd(12)}  ${detail}  `;
    this.out(
      bad ? this.paint('\x1b[31m', line + `(${source})`) : line + this.paint(COLORS[source] ?? '', `(${source})`),
    );
  }

  paint(code: string, s: string): string {
    return this.color && code ? `${code}${s}\x1b[0m` : s;
  }
}

/** A plain-text table: header row, rule, rows; columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (c ?? '').padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}
