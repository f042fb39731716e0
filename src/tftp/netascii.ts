/**
 * @module tftp/netascii
 * netascii mode (RFC 1350 §1, RFC 764): the server sends "LF" as "CR LF" and a bare "CR" as
 * "CR NUL". The mapping is per byte, so converting any split of a file chunk by chunk gives the
 * same bytes as converting it whole: a CR at the end of a chunk or block needs no look-ahead
 * (the FreeBSD block-boundary bug, PR 178055, came from converting in the other direction).
 */
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/** Size of `buf` once converted to netascii. */
export function netasciiSize(buf: Buffer): number {
  let extra = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === LF || c === CR) extra++;
  }
  return buf.length + extra;
}

/** Converts one chunk (or a whole file) to netascii. Returns `buf` itself when nothing changes. */
export function toNetascii(buf: Buffer): Buffer {
  const size = netasciiSize(buf);
  if (size === buf.length) return buf;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === LF) {
      out[o++] = CR;
      out[o++] = LF;
    } else if (c === CR) {
      out[o++] = CR;
      out[o++] = 0;
    } else {
      out[o++] = c;
    }
  }
  return out;
}

/** Stream form of {@link toNetascii}, for streamed content of unknown converted size. */
export function netasciiTransform(): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      cb(null, toNetascii(chunk));
    },
  });
}
