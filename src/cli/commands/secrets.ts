/**
 * @module cli/commands/secrets
 * `kickstand secrets rotate` — a new key for the secrets at rest (BMC passwords), every value
 * re-sealed with it, the old key dropped from the key file; through the daemon's API (admin).
 */
import type { Command } from 'commander';
import type { RotateResult } from '../../auth/sealed-secrets';
import { clientFor, type GlobalOpts } from '../context';
import { json } from '../output';

export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('secrets at rest (BMC passwords): rotate the key');
  secrets
    .command('rotate')
    .description('make a new key, re-seal every stored secret with it, drop the old key')
    .option('--json', 'JSON output')
    .action(async (_f: unknown, cmd: Command) => {
      const r = await clientFor(cmd).request<RotateResult>('POST', '/secrets/rotate');
      if (cmd.optsWithGlobals<GlobalOpts>().json) return void process.stdout.write(json(r));
      process.stdout.write(
        `new key ${r.keyId}; ${r.resealed} secret(s) re-sealed; dropped ${r.dropped.join(', ') || 'no key'}\n` +
          'back up the key file (secrets.keyFile) now: older backups of it do not open the database any more\n',
      );
    });
}
