/**
 * @module cli/main
 * The `kickstand` command. Exit codes: 0 ok, 1 failure, 2 bad usage (including input the
 * daemon refused as invalid). Errors print the code, the field (as the flag that set it), the
 * message and the fix.
 */
import { Command, CommanderError } from 'commander';
import { isKickstandError, type KickstandError } from '../errors';
import { registerBootstrap } from './commands/bootstrap';
import { registerHost } from './commands/host';
import { registerInventory } from './commands/inventory';
import { registerRender } from './commands/render';
import { registerServe } from './commands/serve';
import { registerWatch } from './commands/watch';
import { registerLifecycle } from './commands/lifecycle';
import { registerImages } from './commands/images';
import { VERSION } from '../version';

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** API field names → the CLI flag that sets them, so errors name what the user typed. */
const FLAG_FOR: Array<[RegExp, string]> = [
  [/^macs(\[\d+\])?$/, '--mac'],
  [/^ipv4$/, '--ip'],
  [/^vars\.(.+)$/, '--var $1'],
  [/^vars$/, '--var'],
  [/^profile$/, '--profile'],
  [/^role$/, '--role'],
  [/^netboot$/, '--netboot'],
  [/^name$/, 'NAME'],
  [/^authorization$/, '--token'],
  [/^powerCycle$/, '--power-cycle'],
  [/^yes$/, '--yes'],
  [/^bmc\.address$/, '--address'],
  [/^bmc\.username$/, '--user'],
  [/^bmc\.password$/, '--password-file'],
  [/^bmc\.type$/, '--type'],
];

export function buildProgram(): Command {
  const program = new Command('kickstand')
    .description('Bare-metal provisioning: PXE DHCP, TFTP, HTTP boot, kickstarts, SSH bootstrap')
    .version(VERSION)
    .option('--config <file>', 'config file (default /etc/kickstand/kickstand.yaml, or KICKSTAND_CONFIG)')
    .option('--state-dir <dir>', 'state directory (overrides stateDir; clients read api-token there)')
    .option('--server <url>', 'daemon URL for client commands (or KICKSTAND_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token for client commands (or KICKSTAND_TOKEN; default: <stateDir>/api-token)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  const host = registerHost(program);
  registerWatch(program, host);
  registerLifecycle(host);
  registerImages(program);
  registerRender(host);
  registerBootstrap(program);
  registerInventory(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

export function describeError(e: KickstandError): string {
  const flag = e.field === undefined ? undefined : FLAG_FOR.reduce<string | undefined>((acc, [re, f]) => acc ?? (re.test(e.field!) ? e.field!.replace(re, f) : undefined), undefined);
  const lines = [`error: ${e.message}${e.field ? ` [${flag ?? e.field}]` : ''} (${e.code})`];
  if (e.fix) lines.push(`  fix: ${e.fix}`);
  return lines.join('\n') + '\n';
}

const USAGE_CODES = new Set(['KS_INVALID_INPUT', 'KS_INVALID_MAC', 'KS_INVALID_IPV4', 'KS_INVALID_HOSTNAME', 'KS_INVALID_VAR', 'KS_UNKNOWN_PROFILE', 'KS_IP_OUTSIDE_SUBNET', 'KS_HOST_EXISTS', 'KS_MAC_IN_USE', 'KS_IP_IN_USE', 'KS_HOST_NOT_FOUND', 'KS_ILLEGAL_TRANSITION']);

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (isKickstandError(e)) {
      process.stderr.write(describeError(e));
      return USAGE_CODES.has(e.code) ? EXIT.USAGE : EXIT.FAILURE;
    }
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return (e as Error).message.startsWith('--') ? EXIT.USAGE : EXIT.FAILURE;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    // `serve` keeps the process alive through its listeners; other commands end here.
    process.exitCode = code;
  });
}
