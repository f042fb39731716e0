/**
 * @module cli/commands/watch
 * `kickstand watch` (all hosts) and `kickstand host watch NAME`: follow the timeline live over
 * the API's server-sent events. Human lines by default, JSON lines with --json; while a large
 * asset downloads, a progress line (rewritten in place on a terminal).
 */
import type { Command } from 'commander';
import type { HostEvent } from '../../model/event';
import { clientFor } from '../context';
import type { LiveProgress } from '../../timeline';
import { formatEvent, formatProgress } from './event-format';

interface WatchFlags {
  json?: boolean;
  backlog?: string;
}

export async function follow(cmd: Command, host: string | undefined, f: WatchFlags): Promise<void> {
  const client = clientFor(cmd);
  if (host !== undefined) await client.request('GET', `/hosts/${encodeURIComponent(host)}`);
  const q = new URLSearchParams({ limit: f.backlog ?? '20' });
  if (host !== undefined) q.set('host', host);
  const ctl = new AbortController();
  process.once('SIGINT', () => ctl.abort());
  try {
    const tty = process.stdout.isTTY === true;
    let progressShown = false;
    for await (const frame of client.stream<HostEvent | LiveProgress>(`/watch?${q.toString()}`, ctl.signal)) {
      if (f.json) {
        process.stdout.write(JSON.stringify(frame.data) + '\n');
        continue;
      }
      if (frame.event === 'progress') {
        // On a terminal one line is rewritten in place; elsewhere each report is a line.
        process.stdout.write(
          (tty ? '\r\x1b[K' : '') + formatProgress(frame.data as LiveProgress, host === undefined) + (tty ? '' : '\n'),
        );
        progressShown = tty;
        continue;
      }
      if (progressShown) process.stdout.write('\r\x1b[K');
      progressShown = false;
      process.stdout.write(formatEvent(frame.data as HostEvent, host === undefined) + '\n');
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}

export function registerWatch(program: Command, hostCommand: Command): void {
  program
    .command('watch')
    .description("follow every host's timeline live (Ctrl-C to stop)")
    .option('--backlog <n>', 'show the last N events first', '20')
    .option('--json', 'one JSON object per line')
    .action((f: WatchFlags, cmd: Command) => follow(cmd, undefined, f));
  hostCommand
    .command('watch <name>')
    .description("follow one host's timeline live (Ctrl-C to stop)")
    .option('--backlog <n>', 'show the last N events first', '20')
    .option('--json', 'one JSON object per line')
    .action((name: string, f: WatchFlags, cmd: Command) => follow(cmd, name, f));
}
