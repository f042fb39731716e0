/**
 * @module http/assets/multipart
 * `multipart/byteranges` layout (RFC 9110 §14.6, multipart syntax RFC 2046 §5.1.1), pure: it
 * turns coalesced ranges into the exact byte layout of the body — part headers as Buffers and
 * file slices as offsets — so the exact Content-Length is known before a byte is sent and the
 * body can be streamed from the file without buffering it.
 */
import { randomBytes } from 'node:crypto';
import { contentRange, type ByteRange } from './ranges';

/** One piece of a response body: literal bytes, or an inclusive slice of the file. */
export type Segment = Buffer | ByteRange;

export interface MultipartPlan {
  /** Value for the Content-Type header of the whole response. */
  readonly contentType: string;
  /** Body pieces in order: head₁, slice₁, head₂, slice₂, …, closing delimiter. */
  readonly segments: readonly Segment[];
  /** Exact body length in bytes. */
  readonly length: number;
}

/**
 * A boundary that cannot occur by chance in the file: 24 random hex chars (RFC 2046 §5.1.1
 * allows 1–70 bchars). The representation is binary, so the boundary is chosen per response.
 */
export function newBoundary(): string {
  return `KS${randomBytes(12).toString('hex')}`;
}

/**
 * Lays out a multipart/byteranges body. Each part carries its own Content-Type and
 * Content-Range (§14.6); the first delimiter has no leading CRLF (empty preamble).
 */
export function planMultipart(
  ranges: readonly ByteRange[],
  size: number,
  partType: string,
  boundary: string,
): MultipartPlan {
  const segments: Segment[] = [];
  let length = 0;
  ranges.forEach((r, i) => {
    const head = Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: ${contentRange(r, size)}\r\n\r\n`,
      'latin1',
    );
    segments.push(head, r);
    length += head.length + (r.end - r.start + 1);
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  segments.push(tail);
  length += tail.length;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, segments, length };
}

export function isSlice(s: Segment): s is ByteRange {
  return !Buffer.isBuffer(s);
}
