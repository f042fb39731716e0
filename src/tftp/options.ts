/**
 * @module tftp/options
 * Option negotiation (RFC 2347): which requested options we accept, with what value, and the
 * OACK that lists exactly those. Pure.
 *
 * - blksize 8..65464 (RFC 2348 §2); larger requests are granted our cap, smaller or non-numeric
 *   ones are ignored (the option is left out of the OACK and 512 is used).
 * - timeout 1..255 seconds (RFC 2349 §2); echoed unchanged or ignored.
 * - tsize (RFC 2349 §3): in an RRQ the client sends 0; we answer with the size when known.
 * - windowsize 1..65535 (RFC 7440 §3); granted min(asked, cap).
 * Unknown options are ignored, never fatal (RFC 2347 §2). No option accepted means no OACK:
 * the transfer starts with DATA 1 as in plain RFC 1350 (RFC 2347 §2, reliability T12).
 */

export const DEFAULT_BLKSIZE = 512;
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;

export interface OptionLimits {
  maxBlksize: number;
  maxWindowsize: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Client-requested retransmission timeout in ms, or undefined for the server default. */
  timeoutMs: number | undefined;
  /** Options to put in the OACK, in request order; null when no OACK is to be sent. */
  oack: Array<[string, string]> | null;
}

/** Strict decimal integer (no sign, no spaces, at most 6 digits) or undefined. */
function int(v: string): number | undefined {
  return /^[0-9]{1,6}$/.test(v) ? Number(v) : undefined;
}

export function negotiate(
  requested: ReadonlyArray<[string, string]>,
  limits: OptionLimits,
  size: number | undefined,
): Negotiated {
  const out: Negotiated = { blksize: DEFAULT_BLKSIZE, windowsize: 1, timeoutMs: undefined, oack: null };
  const oack: Array<[string, string]> = [];
  for (const [name, value] of requested) {
    const n = int(value);
    switch (name) {
      case 'blksize':
        if (n === undefined || n < MIN_BLKSIZE) break;
        out.blksize = Math.min(n, MAX_BLKSIZE, Math.max(MIN_BLKSIZE, limits.maxBlksize));
        oack.push(['blksize', String(out.blksize)]);
        break;
      case 'timeout':
        if (n === undefined || n < 1 || n > 255) break;
        out.timeoutMs = n * 1000;
        oack.push(['timeout', String(n)]);
        break;
      case 'tsize':
        if (size === undefined) break;
        oack.push(['tsize', String(size)]);
        break;
      case 'windowsize':
        if (n === undefined || n < 1 || n > 65535) break;
        out.windowsize = Math.min(n, Math.max(1, limits.maxWindowsize));
        oack.push(['windowsize', String(out.windowsize)]);
        break;
      default:
        break; // unknown options (multicast, utimeout, ...) are ignored
    }
  }
  if (oack.length > 0) out.oack = oack;
  return out;
}
