/**
 * @module cli/commands/images
 * `kickstand images sync` fills images/ with the iPXE loaders from Debian's `ipxe` package;
 * `kickstand images check` says what the configured profiles and loaders still lack. Both read
 * the config file directly (they work while the daemon is down).
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load';
import { checkProfiles, syncLoaders, DEBIAN_IPXE_DIR } from '../../images/sync';
import type { GlobalOpts } from '../context';
import { json, table } from '../output';

function configOf(cmd: Command) {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  return loadConfig({ file: g.config ?? process.env.KICKSTAND_CONFIG ?? DEFAULT_CONFIG_PATH });
}

export function registerImages(program: Command): void {
  const images = program.command('images').description('boot assets under imagesDir');

  images
    .command('sync')
    .description(`copy the iPXE loaders (undionly.kpxe, ipxe.efi, snponly.efi) from ${DEBIAN_IPXE_DIR} into imagesDir`)
    .option('--source <dir>', 'where the loaders are', DEBIAN_IPXE_DIR)
    .option('--dry-run', 'say what would change, write nothing')
    .option('--json', 'print JSON')
    .action(async (f: { source: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const results = await syncLoaders(config.imagesDir, { sourceDir: f.source, dryRun: f.dryRun === true });
      process.stdout.write(f.json ? json(results) : table(results, [
        { header: 'loader', value: (r) => r.name },
        { header: f.dryRun ? 'would' : 'action', value: (r) => r.action },
        { header: 'target', value: (r) => r.target },
      ]));
      if (results.some((r) => r.action === 'missing')) {
        process.stderr.write(`some loaders are missing from ${f.source}: install Debian's ipxe package (apt-get install ipxe)\n`);
        process.exitCode = 1;
      }
    });

  images
    .command('check')
    .description('check that every profile kernel, initrd and install tree, and every DHCP loader, is present')
    .option('--json', 'print JSON')
    .action(async (f: { json?: boolean }, cmd: Command) => {
      const problems = await checkProfiles(configOf(cmd));
      if (f.json) process.stdout.write(json(problems));
      else if (problems.length === 0) process.stdout.write('all boot assets are present\n');
      else process.stdout.write(problems.map((p) => `${p.severity}: ${p.field}: ${p.message}\n  fix: ${p.fix}`).join('\n') + '\n');
      if (problems.some((p) => p.severity === 'error')) process.exitCode = 1;
    });
}
