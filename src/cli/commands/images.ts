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
import { upsertProfile } from '../../config/profile-edit';
import { importK3s } from '../../images/k3s-import';
import { importOs } from '../../images/os-import';
import { K3S_ARCHES, isK3sArch, type K3sArch } from '../../images/k3s-release';
import { checkProfiles, syncLoaders, DEBIAN_IPXE_DIR } from '../../images/sync';
import { ErrorCode, KickstandError } from '../../errors';
import type { GlobalOpts } from '../context';
import { json, table } from '../output';
import { ProgressBar } from '../progress';

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
    .option(
      '--arm64 <root>',
      "also the arm64 shim and GRUB (shimaa64.efi, grubaa64.efi) from Debian's arm64 shim-signed and grub-efi-arm64-signed, installed (/) or unpacked (dpkg-deb -x) under <root>",
    )
    .option('--dry-run', 'say what would change, write nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        f: { source: string; secureBoot?: boolean; arm64?: string; dryRun?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const config = configOf(cmd);
        const results = await syncLoaders(config.imagesDir, {
          sourceDir: f.source,
          dryRun: f.dryRun === true,
          secureBoot: f.secureBoot === true,
          ...(f.arm64 === undefined ? {} : { arm64Root: f.arm64 }),
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
            `some loaders are missing: install Debian's ipxe package (apt-get install ipxe)${f.secureBoot ? ', and for --secure-boot shim-signed and grub-efi-amd64-signed' : ''}${f.arm64 === undefined ? '' : `, and for --arm64 shim-signed:arm64 and grub-efi-arm64-signed:arm64 under ${f.arm64}`}\n`,
          );
          process.exitCode = 1;
        }
      },
    );

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
      'NAME --iso FILE | --tree DIR|URL: verify a Rocky/Alma/RHEL ISO or tree against its .treeinfo, install it as imagesDir/NAME and create or update profile NAME; ' +
        'k3s DIR: verify a downloaded k3s release and copy it into imagesDir/k3s/<version>/<arch>/',
    )
    .addArgument(new Argument('<name>', 'the image and profile name (e.g. rocky9), or k3s'))
    .argument('[dir]', 'k3s: the release files as downloaded from github.com/k3s-io/k3s/releases')
    .option('--iso <file>', 'a DVD or boot ISO, read with xorriso (no root, no loop mount)')
    .option('--tree <dir|url>', 'an install tree (the directory holding .treeinfo), local or http(s)')
    .option('--kickstart <file>', 'kickstart template of a NEW profile', 'rocky9.ks.hbs')
    .option('--no-profile', 'only install the files; leave the config file alone')
    .option('--k3s-version <tag>', 'k3s: the release tag, e.g. v1.31.4+k3s1 (default: from the DIR name)')
    .option(
      '--arch <arch>',
      `k3s: import only this architecture (${K3S_ARCHES.join(', ')}; default: every one with a sha256sum-<arch>.txt in DIR); ISO/tree: the .treeinfo architecture (default: the tree's)`,
    )
    .option('--force', 'k3s: replace an imported version')
    .option('--json', 'print JSON (ISO/tree: one progress event per line, then the result)')
    .action(
      async (
        name: string,
        dir: string | undefined,
        f: {
          k3sVersion?: string;
          arch?: string;
          force?: boolean;
          json?: boolean;
          iso?: string;
          tree?: string;
          kickstart: string;
          profile: boolean;
        },
        cmd: Command,
      ) => {
        if (f.iso !== undefined || f.tree !== undefined || name !== 'k3s') {
          await importOsCommand(cmd, name, f);
          return;
        }
        if (dir === undefined)
          throw new KickstandError(ErrorCode.INVALID_INPUT, 'images import k3s needs the release directory', {
            field: 'DIR',
            fix: 'kickstand images import k3s ./k3s-v1.31.4+k3s1',
          });
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

async function importOsCommand(
  cmd: Command,
  name: string,
  f: { iso?: string; tree?: string; arch?: string; json?: boolean; kickstart: string; profile: boolean },
): Promise<void> {
  if ((f.iso === undefined) === (f.tree === undefined))
    throw new KickstandError(
      ErrorCode.INVALID_INPUT,
      `images import ${name} needs exactly one of --iso FILE or --tree DIR|URL`,
      {
        field: '--iso',
        fix: `kickstand images import ${name} --iso Rocky-9.4-x86_64-dvd.iso`,
      },
    );
  const config = configOf(cmd);
  const bar = !f.json && process.stderr.isTTY ? new ProgressBar(process.stderr) : undefined;
  const result = await importOs(config.imagesDir, name, f.iso !== undefined ? { iso: f.iso } : { tree: f.tree! }, {
    ...(f.arch !== undefined ? { arch: f.arch } : {}),
    progress: (p) => {
      if (f.json) process.stdout.write(JSON.stringify({ event: 'progress', ...p }) + '\n');
      else bar?.update(p);
    },
  });
  bar?.end();
  let profile: 'created' | 'updated' | 'unchanged' = 'unchanged';
  if (f.profile) {
    if (config.source === null)
      throw new KickstandError(ErrorCode.CONFIG_UNREADABLE, 'no config file to add the profile to', {
        field: '--config',
        fix: 'pass --config FILE, or --no-profile',
      });
    profile = upsertProfile(config.source, name, {
      kernel: result.kernel,
      initrd: result.initrd,
      installTree: result.installTree,
      kickstart: f.kickstart,
    });
  }
  if (f.json) process.stdout.write(JSON.stringify({ event: 'done', ...result, profile }) + '\n');
  else
    process.stdout.write(
      `imported ${result.release} (${result.arch}) as ${result.dir}: ${result.verified} files verified against .treeinfo\n` +
        `profile ${name}: ${profile} (kernel ${result.kernel}, initrd ${result.initrd}, inst.repo ${result.installTree})\n` +
        (profile === 'unchanged'
          ? ''
          : 'reload the daemon to use it: systemctl reload kickstand (or kill -HUP its pid)\n'),
    );
}
