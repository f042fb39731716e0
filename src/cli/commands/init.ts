/**
 * @module cli/commands/init
 * `kickstand init --interface IF`: day one on a real segment. Reads the interface's address and
 * subnet (init/segment.ts), asks the segment which DHCP servers already answer
 * (dhcp/probe.ts), proposes proxy mode beside a server that leases or authoritative mode with
 * a pool, writes the production config (config/production.ts), copies the iPXE loaders
 * (images sync) and prints the next three commands. Works without the daemon.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load';
import { PACKAGED_PATHS, packagedConfig, renderProductionConfig } from '../../config/production';
import { probeDhcpServers, type ProbeAnswer } from '../../dhcp/probe';
import { ErrorCode, KickstandError } from '../../errors';
import { DEBIAN_IPXE_DIR, syncLoaders, type SyncResult } from '../../images/sync';
import { proposePool, readSegment } from '../../init/segment';
import { VERSION } from '../../version';
import type { GlobalOpts } from '../context';
import { json } from '../output';

interface InitFlags {
  interface: string;
  force?: boolean;
  mode?: string;
  probeTimeout: string;
  kickstartsDir?: string;
  imagesDir?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The kickstarts that ship with this copy: the package's, else the checkout's. */
function defaultKickstartsDir(): string {
  if (existsSync(PACKAGED_PATHS.kickstartsDir)) return PACKAGED_PATHS.kickstartsDir;
  // dist/src/cli/commands (compiled) or src/cli/commands (tsx): the app root is above src/.
  const up = __dirname.includes('/dist/') ? '../../../..' : '../../..';
  return resolve(__dirname, up, 'kickstarts');
}

/** The next three commands, for a config at `file`. */
export function nextCommands(file: string): Array<[string, string]> {
  const packaged = resolve(file) === DEFAULT_CONFIG_PATH;
  const cfg = packaged ? '' : `--config ${file} `;
  return [
    [
      packaged ? 'systemctl enable --now kickstand' : `kickstand serve --config ${file}`,
      packaged ? 'start the daemon now and at every boot' : 'start the daemon with this config',
    ],
    [`kickstand ${cfg}images check`, 'what the profiles and loaders still lack (docs/operating.md)'],
    [`kickstand ${cfg}host import hosts.csv --dry-run`, 'register the machines (or one: kickstand host add)'],
  ];
}

/** Writes `text` to `file` through a temp file and a rename (never a half-written config). */
function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const tmp = join(dirname(file), `.${process.pid}.kickstand-init.tmp`);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KickstandError(ErrorCode.INVALID_INPUT, `cannot write ${file}: ${code ?? (e as Error).message}`, {
      field: '--config',
      fix: code === 'EACCES' || code === 'EPERM' ? 'run it as root (sudo kickstand init …)' : 'choose another --config',
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

function describeAnswer(a: ProbeAnswer): string {
  if (a.offered !== null) return `${a.server} offered ${a.offered} (leases addresses here)`;
  return `${a.server} answered PXE clients with boot information only${a.bootFile ? ` (boot file ${a.bootFile})` : ''}`;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('probe the provisioning segment on an interface and write the production config (then images sync)')
    .requiredOption('--interface <name>', 'the interface on the provisioning segment, e.g. eno2')
    .option('--force', 'replace an existing config (kept as <config>.bak)')
    .option('--mode <mode>', 'authoritative or proxy instead of what the probe proposes')
    .option('--probe-timeout <seconds>', 'how long to listen for DHCP servers', '3')
    .option('--images-dir <dir>', `imagesDir to write (default ${PACKAGED_PATHS.imagesDir})`)
    .option('--kickstarts-dir <dir>', `kickstartsDir to write (default ${PACKAGED_PATHS.kickstartsDir} when present)`)
    .option('--dry-run', 'probe and print the config; write nothing')
    .option('--json', 'print JSON')
    .action(async (f: InitFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      const file = resolve(g.config ?? process.env.KICKSTAND_CONFIG ?? DEFAULT_CONFIG_PATH);
      if (f.mode !== undefined && f.mode !== 'authoritative' && f.mode !== 'proxy')
        throw new KickstandError(ErrorCode.INVALID_INPUT, `${f.mode} is not a DHCP mode init writes`, {
          field: '--mode',
          fix: 'use authoritative or proxy (or leave it out: the probe proposes one)',
        });
      const timeout = Number(f.probeTimeout);
      if (!Number.isFinite(timeout) || timeout < 0.5 || timeout > 60)
        throw new KickstandError(ErrorCode.INVALID_INPUT, `${f.probeTimeout} is not a probe time init uses`, {
          field: '--probe-timeout',
          fix: 'give seconds between 0.5 and 60, e.g. --probe-timeout 3',
        });
      // Refuse before probing: an operator's config is never replaced without --force. The
      // package's untouched idle template is not one (packagedConfig()).
      const existing = existsSync(file) ? readFileSync(file, 'utf8') : null;
      const pristine = existing !== null && existing === packagedConfig();
      if (existing !== null && !pristine && f.force !== true && f.dryRun !== true)
        throw new KickstandError(ErrorCode.CONFLICT, `${file} exists; init leaves it alone`, {
          field: '--config',
          fix: `pass --force to replace it (the old file is kept as ${file}.bak), or --config ANOTHER.yaml`,
        });

      const seg = readSegment(f.interface);
      const mac = Buffer.from(seg.mac.split(':').map((h) => parseInt(h, 16)));
      const answers = await probeDhcpServers({
        broadcast: seg.broadcast,
        mac,
        timeoutMs: Math.round(timeout * 1000),
      }).catch((e: NodeJS.ErrnoException) => {
        throw new KickstandError(
          ErrorCode.INVALID_INPUT,
          `cannot probe ${seg.interface} for DHCP servers: ${e.message}`,
          {
            field: '--interface',
            fix: e.code === 'EACCES' ? 'run it as root (the probe listens on port 68)' : 'check the interface is up',
            cause: e,
          },
        );
      });
      const leasing = answers.filter((a) => a.offered !== null);
      const pxeOnly = answers.filter((a) => a.offered === null);
      const proposed = leasing.length > 0 ? 'proxy' : 'authoritative';
      const mode: 'authoritative' | 'proxy' = f.mode === 'authoritative' || f.mode === 'proxy' ? f.mode : proposed;
      const pool = proposePool(seg.subnet, seg.address, seg.gateway);
      const text = renderProductionConfig({
        interface: seg.interface,
        address: seg.address,
        subnet: seg.subnet,
        pool,
        gateway: seg.gateway,
        dns: [],
        mode,
        servers: leasing.map((a) => a.server),
        ...(g.stateDir !== undefined ? { stateDir: resolve(g.stateDir) } : {}),
        ...(f.imagesDir !== undefined ? { imagesDir: resolve(f.imagesDir) } : {}),
        kickstartsDir: f.kickstartsDir !== undefined ? resolve(f.kickstartsDir) : defaultKickstartsDir(),
        generatedBy: `Written by kickstand ${VERSION} init --interface ${seg.interface}.`,
      });

      const warnings: string[] = [];
      if (mode === 'authoritative' && leasing.length > 0)
        warnings.push(
          `--mode authoritative although ${leasing.map((a) => a.server).join(', ')} leases on this segment: two servers leasing one segment hand out conflicting addresses`,
        );
      if (mode === 'proxy' && leasing.length === 0)
        warnings.push('--mode proxy although no DHCP server answered: PXE clients will get no address');
      for (const a of pxeOnly)
        warnings.push(
          `another PXE service answers on this segment: ${describeAnswer(a)}; two PXE services race for the same clients, stop that one`,
        );
      if (seg.otherAddresses.length > 0)
        warnings.push(`${seg.interface} has more addresses (${seg.otherAddresses.join(', ')}); using ${seg.address}`);

      let wrote = false;
      let images: SyncResult[] = [];
      if (f.dryRun !== true) {
        if (existing !== null && !pristine) copyFileSync(file, `${file}.bak`);
        writeAtomic(file, text);
        wrote = true;
        // What was written must load: the same validation `serve` runs.
        const config = loadConfig({ file, env: {} });
        images = await syncLoaders(config.imagesDir, { sourceDir: DEBIAN_IPXE_DIR });
        if (images.some((r) => r.action === 'missing'))
          warnings.push(
            `iPXE loaders missing from ${DEBIAN_IPXE_DIR}: apt-get install ipxe, then kickstand ${file === DEFAULT_CONFIG_PATH ? '' : `--config ${file} `}images sync`,
          );
      }
      const next = nextCommands(file);

      if (f.json) {
        process.stdout.write(
          json({
            interface: seg.interface,
            address: seg.address,
            subnet: seg.subnet,
            mac: seg.mac,
            gateway: seg.gateway,
            probe: { seconds: timeout, answers },
            proposed,
            mode,
            pool: mode === 'authoritative' ? pool : null,
            config: file,
            wrote,
            replaced: wrote && existing !== null ? (pristine ? 'packaged template' : `${file}.bak`) : null,
            images,
            warnings,
            next: next.map(([c]) => c),
          }),
        );
        return;
      }
      if (f.dryRun === true) process.stdout.write(text + '\n');
      const out: string[] = [];
      const row = (k: string, v: string): void => void out.push(`${k.padEnd(10)} ${v}`);
      row('interface', `${seg.interface}: ${seg.address} on ${seg.subnet} (mac ${seg.mac})`);
      row(
        'probe',
        `DHCP DISCOVER on ${seg.interface}, listened ${timeout} s: ${answers.length === 0 ? 'no DHCP server answered' : answers.map(describeAnswer).join('; ')}`,
      );
      if (mode === 'proxy')
        row(
          'mode',
          `proxy beside ${leasing.map((a) => a.server).join(', ') || '(none found)'}: it keeps leasing addresses; Kickstand gives PXE clients their boot information`,
        );
      else
        row(
          'mode',
          `authoritative: Kickstand leases ${pool.start} – ${pool.end} (${pool.size} addresses) to registered hosts only`,
        );
      row(
        'config',
        f.dryRun === true
          ? `${file} (dry run: not written)`
          : `wrote ${file}${existing === null ? '' : pristine ? ' (replaced the packaged template)' : ` (old one kept as ${file}.bak)`}`,
      );
      if (wrote)
        row(
          'images',
          images.map((r) => `${r.name} ${r.action}`).join(', ') +
            ` (images sync into ${dirname(images[0]?.target ?? '')})`,
        );
      for (const w of warnings) row('warning', w);
      out.push('', 'next:');
      const w = Math.max(...next.map(([c]) => c.length));
      for (const [c, why] of next) out.push(`  ${c.padEnd(w)}   # ${why}`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
