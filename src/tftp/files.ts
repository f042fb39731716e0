/**
 * @module tftp/files
 * The jailed `images/` handler: `(path, client) → content`.
 *
 * Checks, in order (reliability T01; send CVE-2014-6394 and node-tftp's symlink escape):
 *  1. the name itself: no NUL, no backslash, no `.` or `..` segment, no empty segment, no
 *     control characters, at most 255 bytes → PATH_REFUSED. One leading `/` names the root
 *     itself, as in tftpd-hpa's `--secure` and dnsmasq: Debian's signed network GRUB asks for
 *     `/grub/grub.cfg` (docs/firmware.md); `//x` is still refused (an empty segment);
 *  2. `realpath` of root + name must be the root or start with root + separator (so symlinks
 *     leading out, and a sibling prefix like `images-private`, are refused) → PATH_REFUSED;
 *  3. the file is opened once (O_NOFOLLOW) and `fstat`ed: size and content come from that one
 *     descriptor, so a file replaced mid-transfer is served as a consistent snapshot (T11).
 * Small files (loaders, configs) are cached in memory, keyed by realpath and checked against
 * (dev, ino, size, mtime) on every request; large files are handed over as the open FileHandle,
 * which the server reads with `readv` into its packet ring.
 */
import { constants, promises as fsp, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { ErrorCode, KickstandError } from '../errors';
import type { TftpContent, TftpHandler } from './types';

export interface FileHandlerOptions {
  /** Files up to this size are kept in memory (default 4 MiB). 0 disables the cache. */
  cacheFileBytes?: number;
  /** Total bytes the cache may hold (default 64 MiB), least recently used evicted first. */
  cacheTotalBytes?: number;
}

interface CacheEntry {
  key: string;
  buffer: Buffer;
}

function refuse(message: string): KickstandError {
  return new KickstandError(ErrorCode.PATH_REFUSED, message, { fix: 'request a relative path inside the TFTP root' });
}

/** Step 1: a name we will even try to resolve. Returns the relative path to join. */
export function checkName(name: string): string {
  if (name.length === 0) throw refuse('empty file name');
  if (Buffer.byteLength(name) > 255) throw refuse('file name longer than 255 bytes');
  if (name.includes('\0')) throw refuse('NUL byte in file name');
  if (name.includes('\\')) throw refuse('backslash in file name');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw refuse('control character in file name');
  const rel = name.startsWith('/') ? name.slice(1) : name; // the root is `/` (tftpd-hpa --secure)
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw refuse(`path segment "${seg}" not allowed`);
  }
  return rel;
}

export function createFileHandler(root: string, opts: FileHandlerOptions = {}): TftpHandler {
  const rootReal = realpathSync(root);
  const cacheFile = opts.cacheFileBytes ?? 4 * 1024 * 1024;
  const cacheTotal = opts.cacheTotalBytes ?? 64 * 1024 * 1024;
  const cache = new Map<string, CacheEntry>();
  let cached = 0;

  function remember(key: string, realPath: string, buffer: Buffer): void {
    const old = cache.get(realPath);
    if (old) cached -= old.buffer.length;
    cache.delete(realPath);
    cache.set(realPath, { key, buffer });
    cached += buffer.length;
    for (const [k, v] of cache) {
      if (cached <= cacheTotal) break;
      cache.delete(k);
      cached -= v.buffer.length;
    }
  }

  return async (name: string): Promise<TftpContent> => {
    const rel = checkName(name);
    let real: string;
    try {
      real = await fsp.realpath(join(rootReal, rel));
    } catch {
      throw new KickstandError(ErrorCode.NOT_FOUND, 'file not found');
    }
    if (real !== rootReal && !real.startsWith(rootReal + sep)) throw refuse('path resolves outside the TFTP root');
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      throw new KickstandError(ErrorCode.NOT_FOUND, 'file not found or unreadable');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new KickstandError(ErrorCode.NOT_FOUND, 'not a regular file');
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      const hit = cache.get(real);
      if (hit && hit.key === key) {
        cache.delete(real);
        cache.set(real, hit); // LRU touch
        await fh.close();
        return { size: hit.buffer.length, buffer: hit.buffer };
      }
      if (st.size <= cacheFile) {
        const buffer = await fh.readFile();
        await fh.close();
        remember(key, real, buffer);
        return { size: buffer.length, buffer };
      }
      return { size: st.size, file: fh }; // the server reads it with readv and closes it
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  };
}
