/**
 * @module cli/commands/backup
 * `kickstand backup FILE` and `kickstand restore FILE` (backup/archive.ts). Both read the config
 * file for `stateDir` and `api.tokenFile` (`--state-dir` overrides the first); backup works while
 * the daemon runs, restore only into an empty state directory.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createBackup, readBackup, restoreBackup, writeBackupFile, type StatePaths } from '../../backup/archive';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load';
import { ErrorCode, KickstandError } from '../../errors';
import type { GlobalOpts } from '../context';
import { json } from '../output';

function pathsOf(cmd: Command): StatePaths {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const c = loadConfig({
    file: g.config ?? process.env.KICKSTAND_CONFIG ?? DEFAULT_CONFIG_PATH,
    overrides: g.stateDir !== undefined ? { stateDir: g.stateDir } : {},
  });
  return { stateDir: c.stateDir, tokenFile: c.api.tokenFile ?? join(c.stateDir, 'api-token') };
}

function readArchive(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new KickstandError(ErrorCode.INVALID_INPUT, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`, {
      field: 'FILE',
      fix: 'pass the path of a file written by `kickstand backup`',
    });
  }
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('write a consistent snapshot of the store, API token and keys to FILE while the daemon runs')
    .argument('<file>', 'archive to write (mode 0600: it holds secrets)')
    .option('--json', 'print the manifest as JSON')
    .action((file: string, f: { json?: boolean }, cmd: Command) => {
      const { archive, manifest } = createBackup(pathsOf(cmd));
      writeBackupFile(resolve(file), archive);
      if (f.json) process.stdout.write(json(manifest));
      else
        process.stdout.write(
          `wrote ${file} (${archive.length} bytes, schema ${manifest.schemaVersion}): ${manifest.files.map((x) => x.name).join(', ')}\n`,
        );
    });

  program
    .command('restore')
    .description('restore a backup FILE into an empty state directory')
    .argument('<file>', 'archive written by `kickstand backup`')
    .option('--check', 'only verify the archive; write nothing')
    .option('--json', 'print the manifest as JSON')
    .action((file: string, f: { check?: boolean; json?: boolean }, cmd: Command) => {
      const archive = readArchive(file);
      if (f.check) {
        const { manifest } = readBackup(file, archive);
        process.stdout.write(
          f.json ? json(manifest) : `${file}: ${manifest.files.length} files, every SHA-256 matches\n`,
        );
        return;
      }
      const paths = pathsOf(cmd);
      const manifest = restoreBackup(file, archive, paths);
      if (f.json) process.stdout.write(json(manifest));
      else
        process.stdout.write(
          `restored ${manifest.files.map((x) => x.name).join(', ')} (taken ${manifest.createdAt}) into ${paths.stateDir}\n` +
            `start the daemon with this state directory: kickstand serve${paths.stateDir === '/var/lib/kickstand' ? '' : ` --state-dir ${paths.stateDir}`}\n`,
        );
    });
}
