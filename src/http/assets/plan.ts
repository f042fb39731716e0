/**
 * @module http/assets/plan
 * What a GET/HEAD asks of the body, decided once for both serving paths (direct.ts and
 * via-send.ts): If-Range with a strong comparison (§13.1.5), then Range (§14.2) with the cap.
 * HEAD ignores Range: §14.2 defines range handling for GET only.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AssetMetrics } from './metrics';
import type { AssetFile } from './open-files';
import { parseRange, type ByteRange } from './ranges';
import { ifRangeMatches } from './validators';

export type Plan =
  | { readonly kind: 'full' }
  | { readonly kind: 'single'; readonly range: ByteRange }
  | { readonly kind: 'multi'; readonly ranges: readonly ByteRange[] }
  | { readonly kind: 'unsatisfiable' };

/** True when the request carries a precondition other than If-Range (§13.1.1–§13.1.4). */
export function hasPreconditions(h: IncomingHttpHeaders): boolean {
  return (
    h['if-match'] !== undefined ||
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-unmodified-since'] !== undefined
  );
}

export function planRequest(
  method: string,
  h: IncomingHttpHeaders,
  f: AssetFile,
  maxRanges: number,
  metrics: AssetMetrics,
  nowMs: number,
): Plan {
  const header = h.range;
  if (method !== 'GET' || header === undefined) return { kind: 'full' };
  const ifRange = h['if-range'];
  if (!ifRangeMatches(Array.isArray(ifRange) ? ifRange.join(',') : ifRange, f.etag, f.stat, nowMs)) {
    metrics.ranges.inc({ kind: 'stale' });
    return { kind: 'full' };
  }
  const d = parseRange(header, f.size, { maxRanges });
  if (d.kind === 'ignore') {
    metrics.ranges.inc({ kind: 'ignored' });
    return { kind: 'full' };
  }
  if (d.kind === 'unsatisfiable') {
    metrics.ranges.inc({ kind: 'unsatisfiable' });
    return { kind: 'unsatisfiable' };
  }
  const [first] = d.ranges;
  if (d.ranges.length === 1 && first !== undefined) {
    metrics.ranges.inc({ kind: 'single' });
    return { kind: 'single', range: first };
  }
  metrics.ranges.inc({ kind: 'multipart' });
  return { kind: 'multi', ranges: d.ranges };
}
