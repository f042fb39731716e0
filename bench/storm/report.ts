/**
 * @module bench/storm/report
 * The storm client's records and the markdown tables bench/bootstorm.sh prints from them. Pure.
 *
 * One storm (one run of N clients) is a JSON-lines file: a `client` line per simulated machine,
 * then one `run` line. Tables group runs by label and N; a step's cell is the median over runs of
 * that run's p50 / p95 (nearest rank over the clients that completed the step), as the peer
 * bench's tables are read (bench/RESULTS.md, boot storm).
 */

/** The steps of one boot, in order (docs in bench/bootstorm.sh's header). */
export const STEPS = ['dhcp_rom', 'tftp', 'dhcp_ipxe', 'script', 'kernel', 'initrd', 'kickstart'] as const;
export type Step = (typeof STEPS)[number];

export const STEP_TITLES: Record<Step, string> = {
  dhcp_rom: 'DHCP (PXE ROM) ms',
  tftp: 'TFTP loader ms',
  dhcp_ipxe: 'DHCP (iPXE) ms',
  script: 'iPXE scripts ms',
  kernel: 'kernel ms',
  initrd: 'initrd ms',
  kickstart: 'kickstart ms',
};

export interface ClientRecord {
  kind: 'client';
  i: number;
  mac: string;
  ok: boolean;
  /** Step the client was in when it failed. */
  failedStep?: Step;
  error?: string;
  /** Address of the iPXE lease (TFTP uses the ROM's, usually the same). */
  ip?: string;
  /** Milliseconds per completed step. */
  steps: Partial<Record<Step, number>>;
  /** DHCP start to kickstart received (completed clients only). */
  bootMs?: number;
  /** From the storm's start to this client's end (done or failed). */
  endMs: number;
  dhcpRetransmits: number;
  dhcpNaks: number;
  tftpRetransmits: number;
}

export interface RunRecord {
  kind: 'run';
  label: string;
  n: number;
  run: string;
  /** Storm start to the last client's end, seconds. */
  allDoneS: number;
  failed: number;
  /** DHCP replies for no waiting exchange (late duplicates, other clients' retransmissions). */
  strayDhcp: number;
  clientCpuS: number;
  startedAt: string;
}

export type Line = ClientRecord | RunRecord;

/** Nearest-rank percentile: always a value that was observed. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

export function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m] : (v[m - 1]! + v[m]!) / 2;
}

export interface RunStats {
  run: RunRecord;
  boot: [number | undefined, number | undefined];
  steps: Record<Step, [number | undefined, number | undefined]>;
  retransmits: string;
  failures: ClientRecord[];
}

/** p50/p95 of one storm's clients. */
export function runStats(run: RunRecord, clients: readonly ClientRecord[]): RunStats {
  const boots = clients.filter((c) => c.ok && c.bootMs !== undefined).map((c) => c.bootMs!);
  const steps = {} as Record<Step, [number | undefined, number | undefined]>;
  for (const s of STEPS) {
    const v = clients.map((c) => c.steps[s]).filter((x): x is number => x !== undefined);
    steps[s] = [percentile(v, 50), percentile(v, 95)];
  }
  const sum = (f: (c: ClientRecord) => number): number => clients.reduce((n, c) => n + f(c), 0);
  return {
    run,
    boot: [percentile(boots, 50), percentile(boots, 95)],
    steps,
    retransmits: `${sum((c) => c.dhcpRetransmits)} / ${sum((c) => c.dhcpNaks)} / ${sum((c) => c.tftpRetransmits)}`,
    failures: clients.filter((c) => !c.ok),
  };
}

/** Parse one storm file; undefined when it has no `run` line (the client did not finish it). */
export function parseRunFile(text: string): RunStats | undefined {
  const clients: ClientRecord[] = [];
  let run: RunRecord | undefined;
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    const rec = JSON.parse(l) as Line;
    if (rec.kind === 'client') clients.push(rec);
    else if (rec.kind === 'run') run = rec;
  }
  return run === undefined ? undefined : runStats(run, clients);
}

/** Milliseconds with about three significant digits. */
export function fmtMs(v: number | undefined): string {
  if (v === undefined) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const fmtS = (ms: number | undefined): string => (ms === undefined ? '-' : (ms / 1000).toFixed(2));

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The markdown tables of a set of storms: overview, per step, every run, failed clients. */
export function markdown(all: readonly RunStats[], maxFailures = 30): string {
  const groups = new Map<string, RunStats[]>();
  const ordered = [...all].sort((a, b) => a.run.n - b.run.n || a.run.label.localeCompare(b.run.label));
  for (const s of ordered) {
    const key = `${s.run.label}\t${s.run.n}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const over: string[][] = [];
  const steps: string[][] = [];
  for (const runs of groups.values()) {
    const { label, n } = runs[0]!.run;
    const wall = runs.map((r) => r.run.allDoneS);
    over.push([
      label,
      String(n),
      String(runs.length),
      `${median(wall)!.toFixed(2)} (${Math.min(...wall).toFixed(2)}-${Math.max(...wall).toFixed(2)})`,
      `${fmtS(median(runs.map((r) => r.boot[0])))} / ${fmtS(median(runs.map((r) => r.boot[1])))}`,
      runs.map((r) => String(r.run.failed)).join(','),
      median(runs.map((r) => r.run.clientCpuS))!.toFixed(2),
    ]);
    steps.push([
      label,
      String(n),
      ...STEPS.map((s) => {
        const p50 = median(runs.map((r) => r.steps[s][0]));
        return p50 === undefined ? '-' : `${fmtMs(p50)} / ${fmtMs(median(runs.map((r) => r.steps[s][1])))}`;
      }),
    ]);
  }
  const every = ordered.map((s) => [
    s.run.label,
    String(s.run.n),
    s.run.run,
    s.run.allDoneS.toFixed(2),
    String(s.run.failed),
    `${fmtS(s.boot[0])} / ${fmtS(s.boot[1])}`,
    s.retransmits,
    String(s.run.strayDhcp),
    s.run.startedAt,
  ]);
  const failures = ordered.flatMap((s) =>
    s.failures.map((c) => [
      s.run.label,
      String(s.run.n),
      s.run.run,
      c.mac,
      c.failedStep ?? '-',
      (c.error ?? '').replace(/\|/g, '\\|').slice(0, 160),
    ]),
  );
  const out = [
    table(
      [
        'stack',
        'N',
        'runs',
        'all N done s (median, min-max)',
        'boot p50 / p95 s',
        'failed clients per run',
        'simulator CPU s',
      ],
      over,
    ),
    '',
    'All N done = from the release of the clients to the end of the last one. Boot = one client from its first ' +
      'DHCP DISCOVER to its kickstart received. Medians over runs; p50/p95 are nearest-rank over the clients of one run.',
    '',
    '### Per step: p50 / p95 in ms (median over runs)',
    '',
    table(['stack', 'N', ...STEPS.map((s) => STEP_TITLES[s])], steps),
    '',
    'DHCP = DISCOVER to ACK (both exchanges, retransmissions included). TFTP = RRQ to the last block. ' +
      'iPXE scripts = /boot.ipxe and the per-host script it chains to. Kernel, initrd, kickstart = ' +
      'connect to last byte.',
    '',
    '### All runs',
    '',
    table(
      [
        'stack',
        'N',
        'run',
        'all N done s',
        'failed',
        'boot p50 / p95 s',
        'DHCP retransmits / NAKs / TFTP retransmits',
        'stray DHCP replies',
        'started',
      ],
      every,
    ),
  ];
  if (failures.length > 0) {
    out.push(
      '',
      `### Failed clients (${failures.length}; first ${Math.min(maxFailures, failures.length)})`,
      '',
      table(['stack', 'N', 'run', 'client MAC', 'failed step', 'reason'], failures.slice(0, maxFailures)),
    );
  }
  return out.join('\n') + '\n';
}
