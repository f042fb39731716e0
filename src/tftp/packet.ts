/**
 * @module tftp/packet
 * Pure TFTP codec: bytes in, values out, and back. No sockets, no clocks.
 *
 * Wire formats (RFC 1350 §5, RFC 2347 §2 for options and OACK):
 *   RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
 *   DATA     | 03 | block# | data (0..blksize bytes)
 *   ACK      | 04 | block#
 *   ERROR    | 05 | errcode | errmsg | 0
 *   OACK     | 06 | opt1 | 0 | value1 | 0 | ...
 *
 * {@link decodePacket} never throws: malformed input yields a {@link DecodeFailure} value
 * (atftpd CVE-2019-11365 and CVE-2021-46671 were length and terminator bugs in exactly this
 * place, so every read is bounds-checked here and nowhere else).
 */

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 §5 error codes (8 is RFC 2347 option negotiation failure). */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** RFC 2347 §2: "the request packet ... must not exceed 512 octets". */
export const MAX_REQUEST_BYTES = 512;

export interface RequestPacket {
  op: 'RRQ' | 'WRQ';
  filename: string;
  /** Lower-cased transfer mode as sent ("octet", "netascii", "mail", ...). */
  mode: string;
  /** Options in request order, names lower-cased, first occurrence of a name wins. */
  options: Array<[string, string]>;
}
export interface DataPacket {
  op: 'DATA';
  block: number;
  data: Buffer;
}
export interface AckPacket {
  op: 'ACK';
  block: number;
}
export interface ErrorPacket {
  op: 'ERROR';
  code: number;
  message: string;
}
export interface OackPacket {
  op: 'OACK';
  options: Array<[string, string]>;
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export type DecodeFailureReason = 'short' | 'opcode' | 'too_long' | 'unterminated' | 'filename' | 'mode';
export interface DecodeFailure {
  op: 'INVALID';
  reason: DecodeFailureReason;
  /** Opcode of the packet when it was readable (lets the server answer a bad request). */
  opcode: number;
  detail: string;
}
export type DecodeResult = TftpPacket | DecodeFailure;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(reason: DecodeFailureReason, opcode: number, detail: string): DecodeFailure {
  return { op: 'INVALID', reason, opcode, detail };
}

/** NUL-terminated strings from `start`; the last string may lack its NUL (reported separately). */
function splitStrings(buf: Buffer, start: number): { parts: Buffer[]; terminated: boolean } {
  const parts: Buffer[] = [];
  let i = start;
  while (i < buf.length) {
    const nul = buf.indexOf(0, i);
    if (nul === -1) {
      parts.push(buf.subarray(i));
      return { parts, terminated: false };
    }
    parts.push(buf.subarray(i, nul));
    i = nul + 1;
  }
  return { parts, terminated: true };
}

function decodeText(b: Buffer): string | undefined {
  try {
    return utf8.decode(b);
  } catch {
    return undefined;
  }
}

function decodeOptions(parts: Buffer[], from: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  // An option name without a value (odd count) is ignored, as are empty names (trailing NUL padding).
  for (let i = from; i + 1 < parts.length; i += 2) {
    const name = parts[i]!.toString('latin1').toLowerCase();
    if (name.length === 0 || seen.has(name)) continue;
    seen.add(name);
    out.push([name, parts[i + 1]!.toString('latin1')]);
  }
  return out;
}

function decodeRequest(buf: Buffer, opcode: 1 | 2): DecodeResult {
  if (buf.length > MAX_REQUEST_BYTES)
    return fail('too_long', opcode, `request of ${buf.length} bytes > ${MAX_REQUEST_BYTES}`);
  const { parts, terminated } = splitStrings(buf, 2);
  // filename and mode MUST be NUL-terminated; a trailing unterminated option is dropped (CVE-2021-46671).
  if (parts.length < 2 || (parts.length === 2 && !terminated))
    return fail('unterminated', opcode, 'filename or mode not NUL-terminated');
  const filename = decodeText(parts[0]!);
  if (filename === undefined || filename.length === 0) return fail('filename', opcode, 'filename empty or not UTF-8');
  const mode = parts[1]!.toString('latin1').toLowerCase();
  if (mode.length === 0) return fail('mode', opcode, 'empty mode');
  const optParts = terminated ? parts : parts.slice(0, -1);
  return { op: opcode === 1 ? 'RRQ' : 'WRQ', filename, mode, options: decodeOptions(optParts, 2) };
}

/** Decodes one datagram. Never throws. */
export function decodePacket(buf: Buffer): DecodeResult {
  if (buf.length < 2) return fail('short', -1, `${buf.length} bytes`);
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ:
      return decodeRequest(buf, opcode);
    case Opcode.DATA:
      if (buf.length < 4) return fail('short', opcode, 'DATA without block number');
      return { op: 'DATA', block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case Opcode.ACK:
      if (buf.length < 4) return fail('short', opcode, 'ACK without block number');
      return { op: 'ACK', block: buf.readUInt16BE(2) };
    case Opcode.ERROR: {
      if (buf.length < 4) return fail('short', opcode, 'ERROR without code');
      // A missing NUL is tolerated: the message is whatever follows (OpenTFTP CVE-2008-2161).
      const end = buf.indexOf(0, 4);
      const msg = buf.subarray(4, end === -1 ? buf.length : end).toString('latin1');
      return { op: 'ERROR', code: buf.readUInt16BE(2), message: msg };
    }
    case Opcode.OACK: {
      const { parts, terminated } = splitStrings(buf, 2);
      return { op: 'OACK', options: decodeOptions(terminated ? parts : parts.slice(0, -1), 0) };
    }
    default:
      return fail('opcode', opcode, `unknown opcode ${opcode}`);
  }
}

/** Hot-path fast check for an ACK: returns the block number or -1. Allocation-free. */
export function peekAck(buf: Buffer): number {
  return buf.length >= 4 && buf[0] === 0 && buf[1] === Opcode.ACK ? (buf[2]! << 8) | buf[3]! : -1;
}

function strings(op: number, items: string[]): Buffer {
  const bodies = items.map((s) => Buffer.from(s, 'latin1'));
  const len = 2 + bodies.reduce((n, b) => n + b.length + 1, 0);
  const out = Buffer.alloc(len);
  out.writeUInt16BE(op, 0);
  let o = 2;
  for (const b of bodies) {
    b.copy(out, o);
    o += b.length + 1;
  }
  return out;
}

export function encodeRequest(
  op: 'RRQ' | 'WRQ',
  filename: string,
  mode: string,
  options: Array<[string, string]> = [],
): Buffer {
  const fname = Buffer.from(filename, 'utf8').toString('latin1');
  return strings(op === 'RRQ' ? Opcode.RRQ : Opcode.WRQ, [fname, mode, ...options.flat()]);
}

export function encodeOack(options: Array<[string, string]>): Buffer {
  return strings(Opcode.OACK, options.flat());
}

export function encodeAck(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(Opcode.ACK, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

export function encodeData(block: number, data: Buffer): Buffer {
  const b = Buffer.alloc(4 + data.length);
  b.writeUInt16BE(Opcode.DATA, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  data.copy(b, 4);
  return b;
}

/** ERROR packet; the message is made printable ASCII and cut to 200 bytes (RFC 1350 §5). */
export function encodeError(code: number, message: string): Buffer {
  return errorBuffer(code, printable(message, 200));
}

function errorBuffer(code: number, message: string): Buffer {
  const m = Buffer.from(message, 'latin1');
  const b = Buffer.alloc(5 + m.length);
  b.writeUInt16BE(Opcode.ERROR, 0);
  b.writeUInt16BE(code & 0xffff, 2);
  m.copy(b, 4);
  return b;
}

/**
 * Text from the wire (filenames, client ERROR messages) made safe to log: control characters and
 * non-ASCII become '?', cut to `max` characters (dnsmasq `sanitise()`; reliability T17).
 */
export function printable(s: string, max = 128): string {
  const cut = s.length > max ? s.slice(0, max) : s;

  const clean = cut.replace(/[^\x20-\x7e]/g, '?');
  return s.length > max ? `${clean}...` : clean;
}
