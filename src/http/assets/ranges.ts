/**
 * @module http/assets/ranges
 * Pure `Range` header parser (RFC 9110 §14.1–§14.2). Bytes in, decision out; never throws.
 *
 * Decisions:
 * - `ignore`: answer 200 with the whole representation. Used for a unit other than `bytes`
 *   (§14.2: a server MUST ignore a Range with an unknown unit), for a syntactically invalid
 *   ranges-specifier (§14.2: MAY ignore or reject; we ignore), and for "egregious" requests
 *   (§14.2: MAY ignore): more than `maxSpecs` specs in the header, or more than `maxRanges`
 *   ranges left after coalescing. Never multiply the bytes sent (Apache CVE-2011-3192).
 * - `unsatisfiable`: syntactically valid, but no range overlaps the representation (§14.1.3,
 *   §15.5.17 → 416 with `Content-Range: bytes *\/size`).
 * - `ranges`: satisfiable ranges, sorted by start and coalesced where they overlap or touch
 *   (§14.2: a server MAY coalesce; §15.3.7.2: MAY regardless of the order in the header), so
 *   the parts are disjoint and the body is never larger than the file plus the part headers.
 */

/** One byte range, both ends inclusive, 0 ≤ start ≤ end < size. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type RangeDecision =
  | { readonly kind: 'ignore'; readonly reason: 'unit' | 'syntax' | 'too-many' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

export interface RangeLimits {
  /** Most ranges served as parts after coalescing; more → `ignore` (200). Default 16. */
  maxRanges?: number;
  /** Most range-specs read from one header before giving up (`ignore`). Default 8 × maxRanges, ≥ 64. */
  maxSpecs?: number;
}

export const DEFAULT_MAX_RANGES = 16;

/** 1*DIGIT, at most 15 digits so the value stays an exact JS integer (< 2^53). */
const DIGITS = /^[0-9]{1,15}$/;

/** A parsed range-spec before it is clamped to the representation (§14.1.1). */
type Spec = { first: number; last: number | null } | { suffix: number };

/** Parses one range-spec; null when it is not valid syntax (§14.1.1). */
function parseSpec(text: string): Spec | null {
  const dash = text.indexOf('-');
  if (dash < 0) return null;
  const a = text.slice(0, dash);
  const b = text.slice(dash + 1);
  if (a === '') {
    // suffix-range = "-" suffix-length
    return DIGITS.test(b) ? { suffix: Number(b) } : null;
  }
  if (!DIGITS.test(a)) return null;
  const first = Number(a);
  if (b === '') return { first, last: null };
  if (!DIGITS.test(b)) return null;
  const last = Number(b);
  // §14.1.1: an int-range is invalid if last-pos is present and less than first-pos.
  return last < first ? null : { first, last };
}

/** Clamps a spec to a representation of `size` bytes; null when unsatisfiable (§14.1.3). */
function clamp(spec: Spec, size: number): ByteRange | null {
  if ('suffix' in spec) {
    // A suffix-range is satisfiable when the suffix-length is non-zero (bytes=-0 is not).
    if (spec.suffix === 0 || size === 0) return null;
    return { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  // An int-range is satisfiable when first-pos is less than the current length.
  if (spec.first >= size) return null;
  const end = spec.last === null ? size - 1 : Math.min(spec.last, size - 1);
  return { start: spec.first, end };
}

/** Sorts and merges ranges that overlap or are adjacent (§14.2 MAY coalesce). */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((x, y) => x.start - y.start || x.end - y.end);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && r.start <= prev.end + 1) {
      if (r.end > prev.end) out[out.length - 1] = { start: prev.start, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/**
 * Parses a `Range` header value against a representation of `size` bytes.
 * `header` undefined or empty → `ignore`/`syntax` (callers check for presence first).
 */
export function parseRange(header: string | undefined, size: number, limits: RangeLimits = {}): RangeDecision {
  const maxRanges = Math.max(1, limits.maxRanges ?? DEFAULT_MAX_RANGES);
  const maxSpecs = Math.max(maxRanges, limits.maxSpecs ?? Math.max(64, 8 * maxRanges));
  if (header === undefined) return { kind: 'ignore', reason: 'syntax' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'ignore', reason: 'syntax' };
  // range-unit is a case-insensitive token (§14.1); only "bytes" is defined.
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'ignore', reason: 'unit' };
  const satisfiable: ByteRange[] = [];
  let specs = 0;
  for (const raw of header.slice(eq + 1).split(',')) {
    const item = raw.trim(); // OWS around list elements (§5.6.1)
    if (item === '') continue; // empty list elements are ignored (§5.6.1.2)
    if (++specs > maxSpecs) return { kind: 'ignore', reason: 'too-many' };
    const spec = parseSpec(item);
    if (spec === null) return { kind: 'ignore', reason: 'syntax' };
    const r = clamp(spec, size);
    if (r !== null) satisfiable.push(r);
  }
  if (specs === 0) return { kind: 'ignore', reason: 'syntax' };
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  const ranges = coalesce(satisfiable);
  if (ranges.length > maxRanges) return { kind: 'ignore', reason: 'too-many' };
  return { kind: 'ranges', ranges };
}

/** `Content-Range` value for a part or a single-range 206 (§14.4). */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

/** `Content-Range` value for a 416 (§14.4: unsatisfied-range). */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
