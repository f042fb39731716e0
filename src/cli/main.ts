/**
 * @module cli/main
 * The `kickstand` command. Exit codes: 0 ok, 1 failure, 2 bad usage (including input the
 * daemon refused as invalid). Errors print the code, the field (as the flag that set it), the
 * message and the fix.
 */
import { Command, CommanderError, Help } from 'commander';
import { isKickstandError, type KickstandError } from '../errors';
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
  [/^scope$/, '--scope'],
  [/^powerCycle$/, '--power-cycle'],
  [/^yes$/, '--yes'],
  [/^bmc\.address$/, '--address'],
  [/^bmc\.username$/, '--user'],
  [/^bmc\.password$/, '--password-file'],
  [/^bmc\.type$/, '--type'],
];

/* eslint-disable @typescript-eslint/no-require-imports -- command modules load on use (below) */
/**
 * The top-level commands, in help order. A command's modules (and what they import: zod, yaml,
 * the API client…) load only when that command runs; `kickstand --help` lists these entries
 * without loading any. `term` is the help listing's left column (what commander prints for the
 * full command), `register` adds the full command (and its `host` subcommands) to the program.
 */
export const COMMANDS: ReadonlyArray<{
  name: string;
  term: string;
  description: string;
  register: (program: Command) => void;
}> = [
  {
    name: 'serve',
    term: 'serve [options]',
    description: 'run the daemon: DHCP, TFTP, HTTP boot and the operator API',
    register: (p) => (require('./commands/serve') as typeof import('./commands/serve')).registerServe(p),
  },
  {
    name: 'init',
    term: 'init [options]',
    description: 'probe the provisioning segment on an interface and write the production config (then images sync)',
    register: (p) => (require('./commands/init') as typeof import('./commands/init')).registerInit(p),
  },
  { name: 'host', term: 'host', description: 'manage the host registry', register: registerHostTree },
  {
    name: 'watch',
    term: 'watch [options]',
    description: "follow every host's timeline live (Ctrl-C to stop)",
    register: registerHostTree,
  },
  {
    name: 'images',
    term: 'images',
    description: 'boot assets under imagesDir',
    register: (p) => (require('./commands/images') as typeof import('./commands/images')).registerImages(p),
  },
  {
    name: 'backup',
    term: 'backup [options] <file>',
    description: 'write a consistent snapshot of the store, API token and keys to FILE while the daemon runs',
    register: (p) => (require('./commands/backup') as typeof import('./commands/backup')).registerBackup(p),
  },
  {
    name: 'restore',
    term: 'restore [options] <file>',
    description: 'restore a backup FILE into an empty state directory',
    register: (p) => (require('./commands/backup') as typeof import('./commands/backup')).registerBackup(p),
  },
  {
    name: 'db',
    term: 'db',
    description: 'copy a SQLite store into PostgreSQL (several daemons), verified by counts and checksums',
    register: (p) => (require('./commands/db') as typeof import('./commands/db')).registerDb(p),
  },
  {
    name: 'bootstrap',
    term: 'bootstrap [options]',
    description:
      'run a file/command workload over pinned SSH on every node of a workload inventory (benchmark format), no daemon needed',
    register: (p) => (require('./commands/bootstrap') as typeof import('./commands/bootstrap')).registerBootstrap(p),
  },
  {
    name: 'token',
    term: 'token',
    description: 'API tokens: create (scope admin or read), list, revoke',
    register: (p) => (require('./commands/token') as typeof import('./commands/token')).registerToken(p),
  },
  {
    name: 'secrets',
    term: 'secrets',
    description: 'secrets at rest (BMC passwords): rotate the key',
    register: (p) => (require('./commands/secrets') as typeof import('./commands/secrets')).registerSecrets(p),
  },
  {
    name: 'api',
    term: 'api',
    description: "the operator API listener's TLS certificate",
    register: (p) => (require('./commands/api-cert') as typeof import('./commands/api-cert')).registerApiCert(p),
  },
  {
    name: 'inventory',
    term: 'inventory [options]',
    description: 'print the hosts as an Ansible inventory, grouped by role and profile, with mesh addresses',
    register: (p) => (require('./commands/inventory') as typeof import('./commands/inventory')).registerInventory(p),
  },
];

/** `host` and its subcommands come from several modules; `watch` is registered with them. */
function registerHostTree(program: Command): void {
  const host = (require('./commands/host') as typeof import('./commands/host')).registerHost(program);
  (require('./commands/watch') as typeof import('./commands/watch')).registerWatch(program, host);
  (require('./commands/lifecycle') as typeof import('./commands/lifecycle')).registerLifecycle(host);
  (require('./commands/render') as typeof import('./commands/render')).registerRender(host);
  (require('./commands/bootstrap') as typeof import('./commands/bootstrap')).registerBootstrap(program);
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The first operand of argv (the command name), skipping the global options and their values;
 * undefined when there is none (`kickstand --help`, `kickstand --version`).
 */
export function commandName(program: Command, args: string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-') || a === '-') return a;
    if (takesValue.has(a)) i++;
  }
  return undefined;
}

/**
 * The program for `argv` (process.argv form). With a known command in argv, that command is
 * registered in full; otherwise (help, version, an unknown name) every command is listed by name
 * and description only, and commander prints help or the unknown-command error from that.
 */
export function buildProgram(argv: string[] = []): Command {
  const program = new Command('kickstand')
    .description('Bare-metal provisioning: PXE DHCP, TFTP, HTTP boot, kickstarts, SSH bootstrap')
    .version(VERSION)
    .option('--config <file>', 'config file (default /etc/kickstand/kickstand.yaml, or KICKSTAND_CONFIG)')
    .option('--state-dir <dir>', 'state directory (overrides stateDir; clients read api-token there)')
    .option(
      '--server <url>',
      "daemon API for client commands: http(s)://HOST:PORT or unix:/PATH (or KICKSTAND_URL; default: the config's api.listen, else http://127.0.0.1:8081)",
    )
    .option('--token <token>', 'API token for client commands (or KICKSTAND_TOKEN; default: <stateDir>/api-token)')
    .option(
      '--ca <fingerprint|file>',
      "pin the API's TLS certificate: sha256 fingerprint or PEM file (or KICKSTAND_CA; default: the config's api.tls.cert)",
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const name = commandName(program, argv.slice(2));
  const wanted = name === 'help' ? argv.slice(2)[argv.slice(2).indexOf('help') + 1] : name;
  const entry = COMMANDS.find((c) => c.name === wanted);
  if (entry) {
    entry.register(program);
  } else {
    const terms = new Map<Command, string>();
    for (const c of COMMANDS) terms.set(program.command(c.name).description(c.description), c.term);
    const help = new Help();
    program.configureHelp({ subcommandTerm: (c) => terms.get(c) ?? help.subcommandTerm(c) });
  }
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

export function describeError(e: KickstandError): string {
  const flag =
    e.field === undefined
      ? undefined
      : FLAG_FOR.reduce<string | undefined>(
          (acc, [re, f]) => acc ?? (re.test(e.field!) ? e.field!.replace(re, f) : undefined),
          undefined,
        );
  const lines = [`error: ${e.message}${e.field ? ` [${flag ?? e.field}]` : ''} (${e.code})`];
  if (e.fix) lines.push(`  fix: ${e.fix}`);
  return lines.join('\n') + '\n';
}

const USAGE_CODES = new Set([
  'KS_INVALID_INPUT',
  'KS_INVALID_MAC',
  'KS_INVALID_IPV4',
  'KS_INVALID_HOSTNAME',
  'KS_INVALID_VAR',
  'KS_UNKNOWN_PROFILE',
  'KS_IP_OUTSIDE_SUBNET',
  'KS_HOST_EXISTS',
  'KS_MAC_IN_USE',
  'KS_IP_IN_USE',
  'KS_HOST_NOT_FOUND',
  'KS_ILLEGAL_TRANSITION',
]);

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT.OK;
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
  void main(process.argv).then((code) => {
    // `serve` keeps the process alive through its listeners; other commands end here.
    process.exitCode = code;
  });
}
