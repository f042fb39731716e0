/**
 * @module cli/commands/event-format
 * One readable line per timeline event: `12:00:01.123  node1  dhcp.ack  acked 198.18.0.100`.
 */
import type { HostEvent } from '../../model/event';

const MARK: Record<HostEvent['level'], string> = { info: ' ', warn: '!', error: '✗' };

export function formatEvent(e: HostEvent, withHost: boolean): string {
  const t = e.ts.slice(11, 23);
  const who = withHost ? `${(e.host ?? e.mac ?? '-').padEnd(17)}  ` : '';
  return `${t} ${MARK[e.level]} ${who}${e.kind.padEnd(20)} ${e.message}`;
}
