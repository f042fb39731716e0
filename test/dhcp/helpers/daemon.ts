/**
 * Starts the test DHCP daemon (fixtures/dhcp-daemon.ts) inside a namespace and waits for
 * "ready". The process is tracked by the Lab, so cleanup kills it by PID. Test-only.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab, Netns } from '../../helpers/netns';

const DAEMON = join(__dirname, '../fixtures/dhcp-daemon.ts');
const TSX = require.resolve('tsx');

export interface Daemon {
  proc: ChildProcess;
  db: string;
  dir: string;
  stderr: () => string;
}

export async function startDaemon(lab: Lab, ns: Netns, cfg: { dhcp: unknown; network: unknown }, dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-'))): Promise<Daemon> {
  const db = join(dir, 'kickstand.db');
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ db, ...cfg, http: { publicUrl: 'http://198.18.0.1:8080' } }));
  const proc = lab.spawnIn(ns, process.execPath, ['--import', TSX, DAEMON, file]);
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dhcp daemon not ready in 30 s: ${err}`)), 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dhcp daemon exited ${code}: ${err}`));
    });
  });
  return { proc, db, dir, stderr: () => err };
}
