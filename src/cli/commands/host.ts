/**
 * @module cli/commands/host
 * `kickstand host add|list|show|set|rm|events|import|export` — the registry, through the daemon's API.
 */
import { Command, Option } from 'commander';
import type { Host } from '../../model/host';
import type { HostEvent } from '../../model/event';
import { clientFor, type GlobalOpts } from '../context';
import { json, keyValues, table } from '../output';
import { formatEvent } from './event-format';
import { registerHostFile } from './host-file';
import { follow } from './watch';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function parseVars(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`--var ${JSON.stringify(p)}: write it as KEY=VALUE, e.g. --var timezone=UTC`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

interface HostFlags {
  mac?: string[];
  profile?: string;
  role?: string;
  ip?: string;
  var?: string[];
  netboot?: boolean;
  json?: boolean;
  follow?: boolean;
  limit?: string;
}

function body(name: string | undefined, f: HostFlags): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (name !== undefined) b.name = name;
  if (f.mac !== undefined) b.macs = f.mac;
  if (f.profile !== undefined) b.profile = f.profile;
  if (f.role !== undefined) b.role = f.role;
  if (f.ip !== undefined) b.ipv4 = f.ip === 'none' ? null : f.ip;
  const vars = parseVars(f.var);
  if (vars !== undefined) b.vars = vars;
  if (f.netboot !== undefined) b.netboot = f.netboot;
  return b;
}

function showHost(h: Host): string {
  return keyValues([
    ['name', h.name],
    ['state', h.state + (h.stateReason ? ` (${h.stateReason})` : '')],
    ['netboot', h.netboot ? 'armed: next netboot installs' : 'off: netboot boots the local disk'],
    ['macs', h.macs.join(', ')],
    ['profile', h.profile],
    ['role', h.role],
    ['ipv4', h.ipv4 ?? '(pool)'],
    [
      'vars',
      Object.entries(h.vars)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-',
    ],
    [
      'host keys',
      h.sshHostKeys.length
        ? h.sshHostKeys.map((k) => k.split(' ').slice(0, 2).join(' ').slice(0, 40) + '…').join(', ')
        : '-',
    ],
    ['created', h.createdAt],
    ['updated', h.updatedAt],
  ]);
}

export function registerHost(program: Command): Command {
  const host = program.command('host').description('manage the host registry');

  host
    .command('add <name>')
    .description('register a machine (armed for install unless --no-netboot)')
    .requiredOption(
      '--mac <mac>',
      'MAC address (aa:bb:cc:dd:ee:ff, AA-BB-…, aabb.ccdd.eeff); repeat for more NICs',
      collect,
    )
    .requiredOption('--profile <name>', 'install profile from the config')
    .option('--role <role>', 'cluster role (server or agent)', 'agent')
    .option('--ip <ipv4>', 'static IPv4 inside the provisioning subnet (default: from the pool)')
    .option('--var <key=value>', 'template variable for this host; repeatable', collect)
    .option('--no-netboot', 'register without arming: netboot boots the local disk')
    .option('--json', 'print the host as JSON')
    .action(async (name: string, f: HostFlags, cmd: Command) => {
      const h = await clientFor(cmd).request<Host>('POST', '/hosts', body(name, f));
      out(cmd, f, h, () => `added ${h.name} (${h.state})\n`);
    });

  host
    .command('list')
    .description('list registered hosts')
    .option('--json', 'print JSON')
    .action(async (f: HostFlags, cmd: Command) => {
      const { hosts } = await clientFor(cmd).request<{ hosts: Host[] }>('GET', '/hosts');
      out(cmd, f, hosts, () =>
        hosts.length === 0
          ? 'no hosts registered (add one with `kickstand host add NAME --mac … --profile …`)\n'
          : table(hosts, [
              { header: 'name', value: (h) => h.name },
              { header: 'state', value: (h) => h.state },
              { header: 'netboot', value: (h) => (h.netboot ? 'armed' : 'off') },
              { header: 'profile', value: (h) => h.profile },
              { header: 'role', value: (h) => h.role },
              { header: 'ipv4', value: (h) => h.ipv4 ?? '-' },
              { header: 'macs', value: (h) => h.macs.join(',') },
            ]),
      );
    });

  host
    .command('show <name>')
    .description('show one host')
    .option('--json', 'print JSON')
    .action(async (name: string, f: HostFlags, cmd: Command) => {
      const h = await clientFor(cmd).request<Host>('GET', `/hosts/${encodeURIComponent(name)}`);
      out(cmd, f, h, () => showHost(h));
    });

  host
    .command('set <name>')
    .description('change a host (MACs replace the list; vars replace the set)')
    .option('--mac <mac>', 'MAC address; repeat for more NICs', collect)
    .option('--profile <name>', 'install profile')
    .option('--role <role>', 'cluster role')
    .option('--ip <ipv4>', 'static IPv4, or "none" to lease from the pool')
    .option('--var <key=value>', 'template variable; repeatable', collect)
    .addOption(new Option('--netboot', 'arm: the next netboot installs'))
    .addOption(new Option('--no-netboot', 'disarm: netboot boots the local disk'))
    .option('--json', 'print the host as JSON')
    .action(async (name: string, f: HostFlags, cmd: Command) => {
      const h = await clientFor(cmd).request<Host>('PATCH', `/hosts/${encodeURIComponent(name)}`, body(undefined, f));
      out(cmd, f, h, () => showHost(h));
    });

  host
    .command('rm <name>')
    .description('remove a host from the registry (its timeline is kept)')
    .action(async (name: string, _f: HostFlags, cmd: Command) => {
      await clientFor(cmd).request('DELETE', `/hosts/${encodeURIComponent(name)}`);
      process.stdout.write(`removed ${name}\n`);
    });

  host
    .command('events <name>')
    .description("show a host's timeline")
    .option('--limit <n>', 'newest N events', '200')
    .option('-f, --follow', 'keep following new events (like `host watch`)')
    .option('--json', 'JSON (one array, or one object per line with --follow)')
    .action(async (name: string, f: HostFlags, cmd: Command) => {
      const client = clientFor(cmd);
      const path = `/hosts/${encodeURIComponent(name)}/events?limit=${encodeURIComponent(f.limit ?? '200')}`;
      if (!f.follow) {
        const { events } = await client.request<{ events: HostEvent[] }>('GET', path);
        return out(cmd, f, events, () =>
          events.length ? events.map((e) => formatEvent(e, false)).join('\n') + '\n' : `no events for ${name}\n`,
        );
      }
      await follow(cmd, name, { json: f.json, backlog: f.limit });
    });

  registerHostFile(host);
  return host;
}

function out(cmd: Command, f: { json?: boolean }, value: unknown, human: () => string): void {
  const asJson = f.json ?? cmd.optsWithGlobals<GlobalOpts>().json;
  process.stdout.write(asJson ? json(value) : human());
}
