/**
 * @module http/assets/open-files
 * A small open-file cache (the idea of nginx's `open_file_cache`): URL path → jail-checked real
 * path, open descriptor, bigint stat and strong ETag. Without it every request pays four
 * thread-pool round trips before the first byte (realpath, stat, open, close), which
 * dominated the per-request cost measured in docs/http-assets.md.
 *
 * Correctness:
 * - An entry is re-checked (realpath + jail + stat) when older than `validMs`; a change of
 *   dev/ino/size/mtime opens the new file. Within `validMs` a replaced file is still served
 *   from the old descriptor — the old bytes with the old validators, never a mix.
 * - The descriptor is fstat'ed after open and must be the inode the jail approved.
 * - Descriptors are reference-counted: eviction closes only when no response is using one.
 * - Files of at most SMALL_BODY_BYTES are read once when the entry is opened and answered from
 *   that copy (`body`): a 4 KiB GET then costs no thread-pool read (docs/http-assets.md
 *   "Small files"). The copy is of the inode the validators describe, so like the descriptor
 *   it is old bytes with old validators until the re-check, never a mix.
 */
import fs, { type BigIntStats } from 'node:fs';
import { resolveInJail, type Refusal } from './jail';
import { lastModified, strongEtag } from './validators';

/** A jail-approved regular file with its validators. */
export interface AssetFile {
  readonly ok: true;
  /** Real path (symlink-free, inside the root). */
  readonly path: string;
  /** Canonical path relative to the root, `/`-separated. */
  readonly rel: string;
  readonly stat: BigIntStats;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
}

/** An AssetFile with an open descriptor borrowed from the cache. */
export interface OpenFile extends AssetFile {
  readonly fd: number;
  /** The whole file, for files of at most SMALL_BODY_BYTES; null for larger ones. */
  readonly body: Buffer | null;
}

/** Largest file kept in memory with its entry (at most maxEntries × this, 16 MiB by default). */
export const SMALL_BODY_BYTES = 64 * 1024;

/** Validators for a freshly resolved file (the send path, which opens by path). */
export function assetFile(found: { path: string; rel: string; stat: BigIntStats }): AssetFile {
  const { path, rel, stat } = found;
  return {
    ok: true,
    path,
    rel,
    stat,
    size: Number(stat.size),
    etag: strongEtag(stat),
    lastModified: lastModified(stat),
  };
}

interface Entry extends OpenFile {
  refs: number;
  checkedAt: number;
  usedAt: number;
  evicted: boolean;
}

export interface OpenFileCache {
  /** A jail-checked open file for `segments` (already checked by checkUrlPath), or a refusal. */
  acquire(realRoot: string, segments: readonly string[]): Promise<OpenFile | Refusal>;
  /** Every acquire is paired with exactly one release. */
  release(f: OpenFile): void;
  /** Closes every idle descriptor (shutdown, tests). */
  clear(): void;
}

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

// Callback API on purpose: a FileHandle from fs.promises would be closed when garbage-collected.
function openFd(file: string): Promise<number | null> {
  return new Promise((resolve) => fs.open(file, OPEN_FLAGS, (err, fd) => resolve(err === null ? fd : null)));
}

function fstatBig(fd: number): Promise<BigIntStats | null> {
  return new Promise((resolve) => fs.fstat(fd, { bigint: true }, (err, st) => resolve(err === null ? st : null)));
}

/** The whole file from `fd`, or null when it is not exactly `size` bytes now (being rewritten). */
function readWhole(fd: number, size: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(size);
  return new Promise((resolve) => {
    const step = (at: number): void => {
      if (at === size) return resolve(buf);
      fs.read(fd, buf, at, size - at, at, (err, n) => (err !== null || n === 0 ? resolve(null) : step(at + n)));
    };
    step(0);
  });
}

function same(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

export function createOpenFileCache(
  opts: { maxEntries?: number; validMs?: number; idleMs?: number; now?: () => number } = {},
): OpenFileCache {
  const maxEntries = opts.maxEntries ?? 256;
  const validMs = opts.validMs ?? 1000;
  // Entries unused this long are closed at the next request, so a deleted ISO's space is freed.
  const idleMs = opts.idleMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>(); // insertion order = LRU order
  const pending = new Map<string, Promise<Entry | Refusal>>();

  const closeIfIdle = (e: Entry): void => {
    if (e.evicted && e.refs === 0) fs.close(e.fd, () => undefined);
  };
  const evict = (key: string, e: Entry): void => {
    if (entries.get(key) === e) entries.delete(key);
    e.evicted = true;
    closeIfIdle(e);
  };

  async function load(key: string, realRoot: string, segments: readonly string[]): Promise<Entry | Refusal> {
    const found = await resolveInJail(realRoot, segments);
    const old = entries.get(key);
    if (!found.ok) {
      if (old !== undefined) evict(key, old);
      return found;
    }
    if (old !== undefined && old.path === found.path && same(old.stat, found.stat)) {
      old.checkedAt = now();
      return old;
    }
    const fd = await openFd(found.path);
    if (fd === null) return { ok: false, status: 404, reason: 'not-found' };
    const st = await fstatBig(fd);
    if (st === null || st.dev !== found.stat.dev || st.ino !== found.stat.ino) {
      fs.close(fd, () => undefined); // swapped between stat and open
      return { ok: false, status: 404, reason: 'not-found' };
    }
    const size = Number(st.size);
    const body = size > 0 && size <= SMALL_BODY_BYTES ? await readWhole(fd, size) : null;
    const e: Entry = {
      ...assetFile({ path: found.path, rel: found.rel, stat: st }),
      fd,
      body,
      refs: 0,
      checkedAt: now(),
      usedAt: now(),
      evicted: false,
    };
    if (old !== undefined) evict(key, old);
    entries.set(key, e);
    for (const [k, v] of entries) {
      if (entries.size <= maxEntries) break;
      evict(k, v);
    }
    return e;
  }

  return {
    async acquire(realRoot, segments) {
      const key = segments.join('/');
      const t = now();
      for (const [k, v] of entries) {
        if (t - v.usedAt < idleMs) break; // LRU order: the rest were used more recently
        evict(k, v);
      }
      // An entry loaded for us may be evicted (and closed) before we resume: then load again.
      for (let attempt = 0; attempt < 3; attempt++) {
        let e = entries.get(key);
        if (e === undefined || now() - e.checkedAt >= validMs) {
          let p = pending.get(key);
          if (p === undefined) {
            p = load(key, realRoot, segments).finally(() => pending.delete(key));
            pending.set(key, p);
          }
          const r = await p;
          if (!r.ok) return r;
          e = r;
          if (e.evicted) continue;
        }
        entries.delete(key); // most recently used goes last
        entries.set(key, e);
        e.usedAt = now();
        e.refs++;
        return e;
      }
      return { ok: false, status: 404, reason: 'not-found' };
    },
    release(f) {
      const e = f as Entry;
      e.refs--;
      closeIfIdle(e);
    },
    clear() {
      for (const [k, e] of entries) evict(k, e);
    },
  };
}
