/**
 * @module cli/commands/images
 * `kickstand images sync` fills images/ with the iPXE loaders from Debian's `ipxe` package;
 * `kickstand images check` says what the configured profiles and loaders still lack;
 * `kickstand images import k3s DIR` verifies a k3s release and copies it into imagesDir for the
 * air-gapped bootstrap (images/k3s-import.ts). All read the config file directly (they work
 * while the daemon is down).
 */
import { Argument, type Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load';
import { importK3s } from '../../images/k3s-import';
import { K3S_ARCHES, isK3sArch, type K3sArch } from '../../images/k3s-release';
import { checkProfiles, syncLoaders, DEBIAN_IPXE_DIR } from '../../images/sync';
import { ErrorCode, KickstandError } from '../../errors';
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
    .option('--secure-boot', 'also shim (shimx64.efi) and the signed network GRUB (grubx64.efi) for loader: grub')
    .option('--dry-run', 'say what would change, write nothing')
    .option('--json', 'print JSON')
    .action(async (f: { source: string; secureBoot?: boolean; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const config = configOf(cmd);
      const results = await syncLoaders(config.imagesDir, {
        sourceDir: f.source,
        dryRun: f.dryRun === true,
        secureBoot: f.secureBoot === true,
      });
      process.stdout.write(
        f.json
          ? json(results)
          : table(results, [
              { header: 'loader', value: (r) => r.name },
              { header: f.dryRun ? 'would' : 'action', value: (r) => r.action },
              { header: 'target', value: (r) => r.target },
            ]),
      );
      if (results.some((r) => r.action === 'missing')) {
        process.stderr.write(
          `some loaders are missing: install Debian's ipxe package (apt-get install ipxe)${f.secureBoot ? ', and for --secure-boot shim-signed and grub-efi-amd64-signed' : ''}\n`,
        );
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
      else
        process.stdout.write(
          problems.map((p) => `${p.severity}: ${p.field}: ${p.message}\n  fix: ${p.fix}`).join('\n') + '\n',
        );
      if (problems.some((p) => p.severity === 'error')) process.exitCode = 1;
    });

  images
    .command('import')
    .description(
      'verify a downloaded k3s release (binary, airgap images, sha256sum-<arch>.txt, install.sh) and copy it into imagesDir/k3s/<version>/<arch>/',
    )
    .addArgument(new Argument('<kind>', 'what DIR holds').choices(['k3s']))
    .argument('<dir>', 'the release files as downloaded from github.com/k3s-io/k3s/releases')
    .option('--k3s-version <tag>', 'the release tag, e.g. v1.31.4+k3s1 (default: from the DIR name)')
    .option(
      '--arch <arch>',
      `import only this architecture (${K3S_ARCHES.join(', ')}; default: every one with a sha256sum-<arch>.txt in DIR)`,
    )
    .option('--force', 'replace an imported version')
    .option('--json', 'print JSON')
    .action(
      async (
        _kind: string,
        dir: string,
        f: { k3sVersion?: string; arch?: string; force?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const config = configOf(cmd);
        let arches: K3sArch[] | undefined;
        if (f.arch !== undefined) {
          if (!isK3sArch(f.arch))
            throw new KickstandError(ErrorCode.INVALID_INPUT, `${f.arch} is not a k3s architecture Kickstand imports`, {
              field: 'arch',
              fix: `use one of ${K3S_ARCHES.join(', ')}`,
            });
          arches = [f.arch];
        }
        const done = await importK3s(config.imagesDir, dir, {
          ...(f.k3sVersion !== undefined ? { version: f.k3sVersion } : {}),
          ...(arches ? { arches } : {}),
          force: f.force === true,
        });
        process.stdout.write(
          f.json
            ? json(done.map((d) => ({ ...d.bundle, dir: d.dir, replaced: d.replaced })))
            : table(done, [
                { header: 'version', value: (d) => d.bundle.version },
                { header: 'arch', value: (d) => d.arch },
                { header: 'images', value: (d) => d.bundle.images.name },
                { header: 'selinux', value: (d) => d.bundle.selinuxRpms.map((r) => r.name).join(' ') || '-' },
                { header: 'action', value: (d) => (d.replaced ? 'replaced' : 'imported') },
                { header: 'dir', value: (d) => d.dir },
              ]),
        );
      },
    );
}
