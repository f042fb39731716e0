/**
 * @module cli/commands/render
 * `kickstand host render NAME [--ipxe|--kickstart] [--show-secrets]` — the dry run: exactly
 * what the host would get from Kickstand now (its iPXE script or its kickstart), with the
 * install token and secret vars masked unless --show-secrets. No side effect on the daemon.
 * The text goes to stdout (pipe it into a file or ksvalidator); notes go to stderr.
 */
import type { Command } from 'commander';
import type { RenderReply } from '../../http/boot/render-api';
import { clientFor } from '../context';

interface RenderFlags {
  ipxe?: boolean;
  kickstart?: boolean;
  showSecrets?: boolean;
  json?: boolean;
}

/** Adds `render` under the `host` command. */
export function registerRender(host: Command): void {
  host
    .command('render <name>')
    .description('show what the host would get now: its kickstart (default) or iPXE script (dry run)')
    .option('--ipxe', 'the iPXE script /ipxe/<mac> would serve')
    .option('--kickstart', 'the kickstart /ks/<token> would serve (default)')
    .option('--show-secrets', 'do not mask the install token and secret vars (root password hash…)')
    .option('--json', 'print the reply as JSON')
    .action(async (name: string, f: RenderFlags, cmd: Command) => {
      if (f.ipxe && f.kickstart) throw new Error('--ipxe and --kickstart: pick one');
      const kind = f.ipxe ? 'ipxe' : 'kickstart';
      const q = `kind=${kind}${f.showSecrets ? '&showSecrets=1' : ''}`;
      const r = await clientFor(cmd).request<RenderReply>('GET', `/hosts/${encodeURIComponent(name)}/render?${q}`);
      if (f.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      if (r.note) process.stderr.write(`note: ${r.note}\n`);
      if (r.masked) process.stderr.write('note: secrets masked; --show-secrets to see them\n');
      process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
    });
}
