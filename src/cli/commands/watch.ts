/**
 * @module cli/commands/watch
 * `kickstand watch` (all hosts) and `kickstand host watch NAME`: follow the timeline live over
 * the API's server-sent events. Human lines by default, JSON lines with --json.
 */
import type { Command } from 'commander';
import type { HostEvent } from '../../model/event';
import { clientFor } from '../context';
import { formatEvent } from './event-format';

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
    for await (const e of client.stream<HostEvent>(`/watch?${q}`, ctl.signal)) {
      process.stdout.write(f.json ? JSON.stringify(e) + '\n' : formatEvent(e, host === undefined) + '\n');
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}

export function registerWatch(program: Command, hostCommand: Command): void {
  program
    .command('watch')
    .description('follow every host\'s timeline live (Ctrl-C to stop)')
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
