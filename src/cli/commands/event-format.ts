/**
 * @module cli/commands/event-format
 * One readable line per timeline event: `12:00:01.123  node1  dhcp.ack  acked 198.18.0.100`.
 */
import type { HostEvent } from '../../model/event';
import type { LiveProgress } from '../../timeline';

const MARK: Record<HostEvent['level'], string> = { info: ' ', warn: '!', error: '✗' };

export function formatEvent(e: HostEvent, withHost: boolean): string {
  const t = e.ts.slice(11, 23);
  const who = withHost ? `${(e.host ?? e.mac ?? '-').padEnd(17)}  ` : '';
  // Several daemons on one PostgreSQL: which one saw it (docs/scale-out.md).
  const where = e.daemon !== undefined ? `@${e.daemon}  ` : '';
  return `${t} ${MARK[e.level]} ${who}${e.kind.padEnd(20)} ${where}${e.message}`;
}

/** `12:00:01.123 ↓ node1  http.progress  lab/initrd.img  45% (4.7 of 10.2 MiB)` */
export function formatProgress(p: LiveProgress, withHost: boolean): string {
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  const pct = p.total > 0 ? Math.floor((p.bytes / p.total) * 100) : 0;
  const who = withHost ? `${(p.host ?? p.mac ?? '-').padEnd(17)}  ` : '';
  return `${p.ts.slice(11, 23)} ↓ ${who}${'http.progress'.padEnd(20)} ${p.path}  ${pct}% (${mib(p.bytes)} of ${mib(p.total)} MiB)`;
}
