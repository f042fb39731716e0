/**
 * @module cli/commands/token
 * `kickstand token create|list|revoke` — the API's tokens and scopes (auth/tokens.ts), through
 * the daemon's API (an admin token is needed to change them).
 */
import type { Command } from 'commander';
import type { TokenInfo } from '../../auth/tokens';
import { clientFor, type GlobalOpts } from '../context';
import { json, table } from '../output';

export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens: create (scope admin or read), list, revoke');

  token
    .command('create')
    .description('make a token; it is printed once and stored hashed')
    .requiredOption('--name <name>', 'what uses it, e.g. grafana')
    .option('--scope <scope>', 'admin (everything) or read (GET only: list, show, events, metrics)', 'read')
    .option('--json', 'JSON output')
    .action(async (f: { name: string; scope: string }, cmd: Command) => {
      const made = await clientFor(cmd).request<TokenInfo & { token: string }>('POST', '/tokens', {
        name: f.name,
        scope: f.scope,
      });
      if (cmd.optsWithGlobals<GlobalOpts>().json) return void process.stdout.write(json(made));
      process.stdout.write(`${made.token}\n`);
      process.stderr.write(`token ${made.name} (scope ${made.scope}) created; it is not shown again\n`);
    });

  token
    .command('list')
    .description('the tokens: name, scope, created (never the secret)')
    .option('--json', 'JSON output')
    .action(async (_f: unknown, cmd: Command) => {
      const { tokens } = await clientFor(cmd).request<{ tokens: TokenInfo[] }>('GET', '/tokens');
      if (cmd.optsWithGlobals<GlobalOpts>().json) return void process.stdout.write(json(tokens));
      process.stdout.write(
        table(tokens, [
          { header: 'name', value: (t) => t.name },
          { header: 'scope', value: (t) => t.scope },
          { header: 'created', value: (t) => (t.builtIn ? '(the api-token file)' : t.createdAt) },
          { header: 'by', value: (t) => t.createdBy },
        ]),
      );
    });

  token
    .command('revoke <name>')
    .description('remove a token: it is refused from the next request on')
    .action(async (name: string, _f: unknown, cmd: Command) => {
      await clientFor(cmd).request('DELETE', `/tokens/${encodeURIComponent(name)}`);
      process.stderr.write(`token ${name} revoked\n`);
    });
}
