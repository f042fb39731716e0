/**
 * @module http/assets/jail
 * Confines asset lookups to the images root. Two steps:
 * 1. {@link checkUrlPath} (pure): decode each URL path segment once and refuse what has no
 *    business in a boot-asset path — undecodable escapes, NUL, `\` (Windows separator,
 *    CVE-2026-54286 class), `/` hidden in a segment as `%2f` (GHSA-q5qw-h33p-qvwr class),
 *    `.`/`..` segments (send CVE-2014-6394 class) and dotfiles (except the install-tree
 *    metadata Anaconda fetches: `.treeinfo`, `.discinfo`).
 * 2. {@link resolveInJail}: `realpath` the candidate and require it to lie strictly inside the
 *    real root (send follows symlinks out of its root, deps.md §3), re-check dotfiles on the
 *    real path, and require a regular file. The root path never appears in a refusal.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';

export type RefusalReason =
  | 'bad-encoding'
  | 'nul'
  | 'backslash'
  | 'encoded-slash'
  | 'dot-segment'
  | 'dotfile'
  | 'too-long'
  | 'outside-root'
  | 'not-found'
  | 'not-file';

export interface Refusal {
  readonly ok: false;
  /** 400 malformed, 403 traversal attempt, 404 absent or not served (dotfiles, dirs). */
  readonly status: 400 | 403 | 404;
  readonly reason: RefusalReason;
}

export type PathCheck = { readonly ok: true; readonly segments: readonly string[] } | Refusal;

export type Resolved =
  { readonly ok: true; readonly path: string; readonly rel: string; readonly stat: BigIntStats } | Refusal;

/** Dotfiles an install tree legitimately serves (Anaconda reads `$repo/.treeinfo`, `.discinfo`). */
export const ALLOWED_DOTFILES: ReadonlySet<string> = new Set(['.treeinfo', '.discinfo']);

const MAX_PATH = 4096;
const MAX_SEGMENTS = 64;

const refuse = (status: 400 | 403 | 404, reason: RefusalReason): Refusal => ({ ok: false, status, reason });

function isDotfile(seg: string): boolean {
  return seg.startsWith('.') && !ALLOWED_DOTFILES.has(seg);
}

/** Checks one decoded segment; undefined when acceptable. */
function checkSegment(seg: string): Refusal | undefined {
  if (seg.includes('\0')) return refuse(400, 'nul');
  if (seg.includes('\\')) return refuse(403, 'backslash');
  if (seg.includes('/')) return refuse(403, 'encoded-slash');
  if (seg === '.' || seg === '..') return refuse(403, 'dot-segment');
  if (isDotfile(seg)) return refuse(404, 'dotfile');
  return undefined;
}

/**
 * Pure check of the raw (still percent-encoded) URL path, relative to the mount point.
 * Empty segments (`//`) are dropped: lookup and reporting both use the canonical form.
 * A trailing `/` (a directory) is refused: there are no listings and no redirects (H05).
 */
export function checkUrlPath(rawPath: string): PathCheck {
  if (rawPath.length > MAX_PATH) return refuse(400, 'too-long');
  if (rawPath.endsWith('/')) return refuse(404, 'not-file');
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return refuse(400, 'bad-encoding');
    }
    const bad = checkSegment(seg);
    if (bad !== undefined) return bad;
    segments.push(seg);
  }
  if (segments.length === 0) return refuse(404, 'not-file');
  if (segments.length > MAX_SEGMENTS) return refuse(400, 'too-long');
  return { ok: true, segments };
}

/** True when `candidate` is strictly inside `root` (both real, absolute paths). */
export function isInside(root: string, candidate: string): boolean {
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  return candidate.startsWith(base) && candidate.length > base.length;
}

/**
 * Resolves checked segments under the real root: realpath (follows every symlink), then the
 * containment and dotfile checks on the result, then a bigint stat (for the strong ETag).
 */
export async function resolveInJail(realRoot: string, segments: readonly string[]): Promise<Resolved> {
  let real: string;
  try {
    real = await fsp.realpath(path.join(realRoot, ...segments));
  } catch {
    return refuse(404, 'not-found'); // ENOENT, ENOTDIR, ELOOP, EACCES: all just "not here"
  }
  if (!isInside(realRoot, real)) return refuse(404, 'outside-root');
  const rel = real
    .slice(realRoot.length)
    .split(path.sep)
    .filter((s) => s !== '');
  if (rel.some(isDotfile)) return refuse(404, 'dotfile');
  let stat: BigIntStats;
  try {
    stat = await fsp.stat(real, { bigint: true });
  } catch {
    return refuse(404, 'not-found');
  }
  if (!stat.isFile()) return refuse(404, 'not-file');
  return { ok: true, path: real, rel: rel.join('/'), stat };
}
