/**
 * @module http/assets/validators
 * Strong validators and `If-Range` (RFC 9110 §8.8, §13.1.5). Pure.
 *
 * send's ETag is weak (`W/"size-mtimeMs"`) and its If-Range test is a substring match that
 * accepts weak tags, which §13.1.5 forbids. We set a strong ETag before send runs (send keeps a
 * pre-set ETag) and decide If-Range here, before send sees the request.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';

/**
 * Strong ETag from (dev, ino, size, mtime ns): a new inode (the atomic rename an operator
 * should use), a size change or an mtime change gives a new tag. Hashed so device and inode
 * numbers are not disclosed. Limit: an in-place rewrite of the same size within one kernel
 * timestamp tick (coarse clock, ~1–4 ms) keeps the tag — see images/README.md.
 */
export function strongEtag(st: Pick<BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs'>): string {
  const h = createHash('sha256').update(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`).digest('base64url');
  return `"${h.slice(0, 27)}"`;
}

/** `Last-Modified` value (IMF-fixdate, §5.6.7), second precision. */
export function lastModified(st: Pick<BigIntStats, 'mtimeMs'>): string {
  return new Date(Number(st.mtimeMs)).toUTCString();
}

/**
 * Evaluates `If-Range` (§13.1.5). True when the Range header may be honoured:
 * - no If-Range: true;
 * - an entity-tag: strong comparison with the current ETag (a weak tag never matches);
 * - an HTTP-date: exact match with Last-Modified, and only if that date is a strong validator
 *   (§8.8.2.2: at least one second older than the response's Date).
 * Anything else (malformed) → false: the whole representation is sent (200), which is safe.
 */
export function ifRangeMatches(
  ifRange: string | undefined,
  etag: string,
  st: Pick<BigIntStats, 'mtimeMs'>,
  nowMs: number,
): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('W/')) return false;
  if (v.startsWith('"')) return v === etag;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return false;
  const mtimeS = Math.floor(Number(st.mtimeMs) / 1000) * 1000;
  return date === mtimeS && nowMs - Number(st.mtimeMs) >= 1000;
}
