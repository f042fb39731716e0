/**
 * @module cli/commands/bootstrap
 * `kickstand host bootstrap NAME` — (re-)run a host's bootstrap plan through the daemon and
 * follow its steps on the timeline until it is ready or failed.
 * `kickstand bootstrap --inventory FILE` — run a file/command workload over pinned SSH on the
 * nodes of a workload inventory, without a daemon (the benchmark's candidate interface).
 */
import type { Command } from 'commander';
import type { Host } from '../../model/host';
import type { HostEvent } from '../../model/event';
import { ErrorCode, KickstandError } from '../../errors';
import { clientFor } from '../context';
import { json } from '../output';
import { formatEvent } from './event-format';

interface Flags {
  wait?: boolean;
  json?: boolean;
  timeout?: string;
  inventory?: string;
  parallel?: string;
}

export function registerBootstrap(program: Command): void {
  const host =
    program.commands.find((c) => c.name() === 'host') ??
    program.command('host').description('manage the host registry');
  host
    .command('bootstrap <name>')
    .description('run the SSH bootstrap plan (mesh, cluster) on an installed host; re-running changes nothing')
    .option('--no-wait', 'queue it and return at once')
    .option('--timeout <seconds>', 'stop following after this many seconds', '1800')
    .option('--json', 'print the final host as JSON')
    .action(async (name: string, f: Flags, cmd: Command) => {
      const api = clientFor(cmd);
      const seen = await api.request<{ events: HostEvent[] }>(
        'GET',
        `/hosts/${encodeURIComponent(name)}/events?limit=1`,
      );
      let after = seen.events.at(-1)?.id ?? 0;
      await api.request('POST', `/hosts/${encodeURIComponent(name)}/bootstrap`);
      if (f.wait === false) return void process.stdout.write(`queued bootstrap of ${name}\n`);
      const deadline = Date.now() + Number(f.timeout ?? 1800) * 1000;
      const printNew = async (): Promise<void> => {
        const { events } = await api.request<{ events: HostEvent[] }>(
          'GET',
          `/hosts/${encodeURIComponent(name)}/events?after=${after}`,
        );
        for (const e of events) {
          after = e.id;
          if (!f.json && (e.kind.startsWith('bootstrap.') || e.kind.startsWith('mesh.') || e.kind === 'host.state'))
            process.stdout.write(formatEvent(e, false) + '\n');
        }
      };
      let h: Host;
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        await printNew();
        h = await api.request<Host>('GET', `/hosts/${encodeURIComponent(name)}`);
        if (h.state !== 'bootstrapping') break;
        if (Date.now() > deadline)
          throw new KickstandError(ErrorCode.UNAVAILABLE, `${name} is still bootstrapping after ${f.timeout} s`, {
            fix: `follow it with \`kickstand host events ${name} --follow\``,
          });
      }
      // The run may have ended between the events read and the state read: print its last events
      // (bootstrap.done / bootstrap.failed and the state change) before the verdict.
      await printNew();
      if (f.json) process.stdout.write(json(h));
      else process.stdout.write(`${name}: ${h.state}${h.stateReason ? ` (${h.stateReason})` : ''}\n`);
      if (h.state !== 'ready') process.exitCode = 1;
    });

  program
    .command('bootstrap')
    .description(
      'run a file/command workload over pinned SSH on every node of a workload inventory (benchmark format), no daemon needed',
    )
    .requiredOption('--inventory <file>', 'workload inventory JSON (see docs/bootstrap.md)')
    .option('--parallel <n>', 'nodes at once (default: all)')
    .action(async (f: Flags) => {
      // Loaded on use: ssh2 and the runner are not needed by the other commands (start-up time).
      const { workloadMain } = await import('../../bootstrap/workload-main.js');
      const code = await workloadMain(['--inventory', f.inventory!, ...(f.parallel ? ['--parallel', f.parallel] : [])]);
      if (code !== 0) process.exitCode = code;
    });
}
