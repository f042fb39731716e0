/**
 * @module test/e2e/lab/rootfs
 * The journey lab's operating system: a real Debian 12 root filesystem built once with
 * mmdebstrap (build-debian-rootfs.sh) and cached outside the repository and the work dir,
 * named after the sha256 of the build script (its package list and settings): editing the
 * script builds a new one, everything else reuses it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_DIR } from './assets';

export const ROOTFS_SCRIPT = join(LAB_DIR, 'build-debian-rootfs.sh');

/** Builds of other versions of the script unused this long are removed. */
const PRUNE_DAYS = 14;

/** KICKSTAND_LAB_CACHE overrides the cache directory. */
export function rootfsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KICKSTAND_LAB_CACHE ?? '/var/cache/kickstand-lab';
}

export interface Rootfs {
  path: string;
  bytes: number;
  sha256: string;
  /** Seconds spent building it in this run (0: taken from the cache). */
  buildSeconds: number;
}

/** The cache file name for a build script's content. */
export function rootfsName(script: Buffer | string): string {
  return `rootfs-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.tar.zst`;
}

/**
 * The cached rootfs tarball, built first when the cache has none for this script (minutes: it
 * downloads about 100 MiB of packages). Builds of other script versions not used for
 * PRUNE_DAYS are removed.
 */
export function debianRootfs(say: (s: string) => void): Rootfs {
  const dir = rootfsCacheDir();
  mkdirSync(dir, { recursive: true });
  const name = rootfsName(readFileSync(ROOTFS_SCRIPT));
  const path = join(dir, name);
  let buildSeconds = 0;
  if (!existsSync(path)) {
    say(`  rootfs    building Debian 12 with mmdebstrap into ${path} (once per version of build-debian-rootfs.sh)`);
    const t0 = Date.now();
    execFileSync('bash', [ROOTFS_SCRIPT, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30 * 60_000,
      maxBuffer: 64 * 1048576,
    });
    buildSeconds = (Date.now() - t0) / 1000;
  }
  const sumFile = `${path}.sha256`;
  let sha256: string;
  if (existsSync(sumFile) && statSync(sumFile).mtimeMs >= statSync(path).mtimeMs)
    sha256 = readFileSync(sumFile, 'utf8').trim();
  else {
    sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    writeFileSync(sumFile, `${sha256}\n`);
  }
  // Builds of other script versions are kept while recently used: two checkouts (a branch and
  // main) that removed each other's build rebuilt it on every run. Unused for PRUNE_DAYS: gone.
  const now = new Date();
  utimesSync(path, now, now);
  utimesSync(sumFile, now, now); // the sum stays as new as the image: no re-hash next time
  for (const f of readdirSync(dir)) {
    const m = /^(rootfs-[0-9a-f]{16}\.tar\.zst)(\.sha256)?$/.exec(f);
    if (!m || m[1] === name) continue;
    const image = join(dir, m[1]!);
    const used = existsSync(image) ? statSync(image).mtimeMs : 0;
    if (now.getTime() - used > PRUNE_DAYS * 86_400_000) rmSync(join(dir, f), { force: true });
  }
  return { path, bytes: statSync(path).size, sha256, buildSeconds };
}
