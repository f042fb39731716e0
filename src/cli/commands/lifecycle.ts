/**
 * @module cli/commands/lifecycle
 * `kickstand host reimage NAME | --role ROLE`, `kickstand host bmc NAME`, `kickstand host power NAME ACTION`.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ErrorCode, KickstandError } from '../../errors';
import type { Host } from '../../model/host';
import type { RolloutStatus } from '../../hosts/rollout';
import { clientFor } from '../context';
import { json, keyValues } from '../output';

interface ReimageFlags {
  role?: string;
  maxUnavailable?: string;
  powerCycle?: boolean;
  yes?: boolean;
  timeout?: string;
  json?: boolean;
}

async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new KickstandError(ErrorCode.INVALID_INPUT, 'refusing to reimage without confirmation', {
      field: 'yes',
      fix: 'pass --yes when not running on a terminal',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new KickstandError(ErrorCode.INVALID_INPUT, 'not confirmed; nothing was changed', { field: 'yes' });
}

async function reimageOne(cmd: Command, name: string, f: ReimageFlags): Promise<void> {
  await confirm(`Reimage ${name}? It leaves the mesh and its next netboot reinstalls it (disk erased).`, f.yes);
  const h = await clientFor(cmd).request<Host>('POST', `/hosts/${encodeURIComponent(name)}/reimage`, {
    powerCycle: f.powerCycle === true,
  });
  process.stdout.write(
    f.json
      ? json(h)
      : `${h.name}: ${h.state} — the next netboot reinstalls it${f.powerCycle ? ' (BMC: network boot once, power cycled)' : ''}\n`,
  );
}

async function rollout(cmd: Command, f: ReimageFlags): Promise<void> {
  const client = clientFor(cmd);
  const maxUnavailable = Number(f.maxUnavailable ?? '1');
  await confirm(`Reimage every host with role ${f.role}, ${maxUnavailable} at a time?`, f.yes);
  const body: Record<string, unknown> = { role: f.role, maxUnavailable, powerCycle: f.powerCycle === true };
  if (f.timeout !== undefined) body.timeoutSeconds = Number(f.timeout);
  let s = await client.request<RolloutStatus>('POST', '/rollouts', body);
  process.stderr.write(
    `rollout ${s.id}: ${s.batches.length} batch(es): ${s.batches.map((b) => b.join(',')).join(' | ')}\n`,
  );
  let reported = -1;
  while (s.state === 'running') {
    if (s.batch !== reported) {
      reported = s.batch;
      process.stderr.write(`batch ${s.batch + 1}/${s.batches.length}: ${s.batches[s.batch]?.join(', ')} …\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    s = await client.request<RolloutStatus>('GET', `/rollouts/${s.id}`);
  }
  if (f.json) process.stdout.write(json(s));
  else
    process.stdout.write(
      s.state === 'done' ? `done: ${s.done.length} host(s) reimaged and ready\n` : `stopped: ${s.reason}\n`,
    );
  if (s.state === 'failed') process.exitCode = 1;
}

interface BmcFlags {
  type?: string;
  address?: string;
  user?: string;
  passwordFile?: string;
  passwordStdin?: boolean;
  systemId?: string;
  insecureTls?: boolean;
  efi?: boolean;
  remove?: boolean;
  json?: boolean;
}

function readPassword(f: BmcFlags): string {
  if (f.passwordFile) return readFileSync(f.passwordFile, 'utf8').replace(/\r?\n$/, '');
  if (f.passwordStdin) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const env = process.env.KICKSTAND_BMC_PASSWORD;
  if (env !== undefined) return env;
  throw new KickstandError(ErrorCode.INVALID_INPUT, 'no BMC password given', {
    field: 'password',
    fix: 'use --password-file FILE, --password-stdin or KICKSTAND_BMC_PASSWORD (never a command-line argument: other users can read those)',
  });
}

export function registerLifecycle(host: Command): void {
  host
    .command('reimage [name]')
    .description(
      'rebuild a host (leave the mesh, re-arm netboot, new one-time token), or every host of a role with --role',
    )
    .option('--role <role>', 'rolling rebuild of every host with this role')
    .option('--max-unavailable <n>', 'rolling rebuild batch size', '1')
    .option('--timeout <seconds>', 'rolling rebuild: how long one batch may take to reach ready')
    .option('--power-cycle', 'have the BMC boot from the network once and power-cycle the host')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, f: ReimageFlags, cmd: Command) => {
      if ((name === undefined) === (f.role === undefined)) {
        throw new KickstandError(ErrorCode.INVALID_INPUT, 'give either a host NAME or --role ROLE', {
          field: 'name',
          fix: 'kickstand host reimage node1, or kickstand host reimage --role agent --max-unavailable 1',
        });
      }
      return name !== undefined ? reimageOne(cmd, name, f) : rollout(cmd, f);
    });

  host
    .command('bmc <name>')
    .description("show, set or remove a host's BMC (the password is never shown)")
    .option('--type <type>', 'ipmi or redfish')
    .option('--address <addr>', 'host or host:port (Redfish: https://host[:port])')
    .option('--user <name>', 'BMC user')
    .option('--password-file <file>', 'read the BMC password from a file')
    .option('--password-stdin', 'read the BMC password from standard input')
    .option('--system-id <id>', 'Redfish ComputerSystem id (default: the only one)')
    .option('--insecure-tls', "Redfish: accept the BMC's self-signed certificate")
    .option('--efi', 'ask for a UEFI network boot')
    .option('--remove', 'forget the BMC settings')
    .option('--json', 'print JSON')
    .action(async (name: string, f: BmcFlags, cmd: Command) => {
      const client = clientFor(cmd);
      const path = `/hosts/${encodeURIComponent(name)}/bmc`;
      if (f.remove) {
        await client.request('DELETE', path);
        return void process.stdout.write(`removed the BMC settings of ${name}\n`);
      }
      let shown: Record<string, unknown>;
      if (f.type !== undefined || f.address !== undefined || f.user !== undefined) {
        const body: Record<string, unknown> = {
          type: f.type,
          address: f.address,
          username: f.user,
          password: readPassword(f),
        };
        if (f.systemId !== undefined) body.systemId = f.systemId;
        if (f.insecureTls) body.insecureTls = true;
        if (f.efi) body.efiBoot = true;
        shown = await client.request('PUT', path, body);
      } else {
        shown = await client.request('GET', path);
      }
      process.stdout.write(f.json ? json(shown) : keyValues(Object.entries(shown).map(([k, v]) => [k, String(v)])));
    });

  host
    .command('power <name> <action>')
    .description('BMC power: on, off, cycle, reset, soft or status')
    .option('--json', 'print JSON')
    .action(async (name: string, action: string, f: { json?: boolean }, cmd: Command) => {
      const r = await clientFor(cmd).request<{ status: string }>('POST', `/hosts/${encodeURIComponent(name)}/power`, {
        action,
      });
      process.stdout.write(f.json ? json(r) : `${name}: power ${r.status}\n`);
    });
}
