/**
 * Starts `kickstand serve` (the real CLI, test/helpers/daemon.ts cliArgv) inside a namespace
 * with a generated config: DHCP as given, TFTP off, HTTP on the namespace's loopback, the
 * store in `dir` (dir/kickstand.db). Resolves once the daemon logs "kickstand ready" (after
 * DHCP has bound its sockets). The process is tracked by the Lab, so cleanup kills it by PID.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { cliArgv, REPO } from '../../helpers/daemon';
import type { Lab, Netns } from '../../helpers/netns';

export interface Daemon {
  proc: ChildProcess;
  db: string;
  dir: string;
  /** Everything the daemon logged (stderr). */
  stderr: () => string;
}

export async function startDaemon(
  lab: Lab,
  ns: Netns,
  cfg: { dhcp: unknown; network: unknown; profiles?: unknown },
  dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-')),
): Promise<Daemon> {
  const file = join(dir, 'kickstand.yaml');
  writeFileSync(
    file,
    stringify({
      stateDir: dir,
      imagesDir: join(dir, 'images'),
      kickstartsDir: join(REPO, 'kickstarts'),
      http: { listen: '127.0.0.1:0', publicUrl: 'http://198.18.0.1:8080' },
      api: { listen: '127.0.0.1:0' },
      tftp: { enabled: false },
      log: { level: 'info' },
      ...cfg,
    }),
  );
  const proc = lab.spawnIn(ns, process.execPath, [...cliArgv(), '--config', file, 'serve'], {
    cwd: REPO,
    env: { ...process.env, KICKSTAND_CONFIG: undefined },
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kickstand serve not ready in 30 s: ${err}`)), 30_000);
    proc.stderr?.on('data', () => {
      if (err.includes('"msg":"kickstand ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kickstand serve exited ${code}: ${err}`));
    });
  });
  return { proc, db: join(dir, 'kickstand.db'), dir, stderr: () => err };
}
