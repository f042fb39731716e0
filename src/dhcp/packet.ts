/**
 * @module dhcp/packet
 * The DHCPv4 message codec (RFC 2131 §2, RFC 2132, RFC 3396). Pure: Buffer in, Buffer out,
 * no sockets and no PXE knowledge. `decodePacket` never throws: a malformed datagram yields
 * a {@link DecodeError} value whose `reason` is a stable label for metrics.
 */
import {
  BOOTREPLY,
  BOOTREQUEST,
  FILE_LEN,
  FILE_OFFSET,
  HEADER_LEN,
  MAGIC_COOKIE,
  MIN_BOOTP_LEN,
  MIN_MAX_MESSAGE,
  OPTIONS_OFFSET,
  Opt,
  Overload,
  SNAME_LEN,
  SNAME_OFFSET,
} from './constants';
import {
  decodeOptionArea,
  encodeOptionChunks,
  encodedOptionsLength,
  encodeOptionsInto,
  ipFromBytes,
  writeIp,
  type Options,
} from './options';

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Always 16 bytes; the hardware address is the first `hlen`. */
  chaddr: Buffer;
  /** Server host name (latin1, up to the first NUL); '' when overloaded with options. */
  sname: string;
  /** Boot file name (latin1, up to the first NUL); '' when overloaded with options. */
  file: string;
  options: Options;
}

export type DecodeReason = 'short' | 'bad-op' | 'bad-hlen' | 'no-cookie' | 'truncated-option' | 'bad-overload';

export interface DecodeError {
  reason: DecodeReason;
  message: string;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; error: DecodeError };

function fail(reason: DecodeReason, message: string): DecodeResult {
  return { ok: false, error: { reason, message } };
}

function cstring(buf: Buffer, off: number, len: number): string {
  if (buf[off] === 0) return ''; // the usual case: an empty field, no native call
  const nul = buf.indexOf(0, off);
  const end = nul === -1 || nul > off + len ? off + len : nul;
  return buf.toString('latin1', off, end);
}

/** Decode one datagram. Never throws. */
export function decodePacket(buf: Buffer): DecodeResult {
  try {
    return decodeUnchecked(buf);
  } catch (err) {
    // Defensive: every access below is bounds-checked; this turns a bug into a drop, not a crash.
    return fail('short', `decoder fault: ${(err as Error).message}`);
  }
}

function decodeUnchecked(buf: Buffer): DecodeResult {
  if (buf.length < OPTIONS_OFFSET)
    return fail('short', `${buf.length} bytes is shorter than the ${OPTIONS_OFFSET}-byte header and cookie`);
  const op = buf[0]!;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) return fail('bad-op', `op ${op} is neither BOOTREQUEST nor BOOTREPLY`);
  const hlen = buf[2]!;
  if (hlen > 16) return fail('bad-hlen', `hlen ${hlen} exceeds the 16-byte chaddr field`);
  if (buf.readUInt32BE(HEADER_LEN) !== MAGIC_COOKIE)
    return fail('no-cookie', 'no DHCP magic cookie (plain BOOTP is not served)');
  const options: Options = new Map();
  const e1 = decodeOptionArea(buf, OPTIONS_OFFSET, buf.length, options);
  if (e1) return fail(e1.reason, e1.message);
  let sname = cstring(buf, SNAME_OFFSET, SNAME_LEN);
  let file = cstring(buf, FILE_OFFSET, FILE_LEN);
  const ov = options.get(Opt.OVERLOAD);
  if (ov !== undefined) {
    // RFC 2132 §9.3: value 1 = file, 2 = sname, 3 = both; RFC 3396 §5 order: file, then sname.
    if (ov.length !== 1 || ov[0]! < 1 || ov[0]! > 3)
      return fail('bad-overload', `option 52 value ${ov.toString('hex')} is not 1, 2 or 3`);
    const v = ov[0]!;
    if (v & Overload.FILE) {
      const e = decodeOptionArea(buf, FILE_OFFSET, FILE_OFFSET + FILE_LEN, options);
      if (e) return fail(e.reason, `in file field: ${e.message}`);
      file = '';
    }
    if (v & Overload.SNAME) {
      const e = decodeOptionArea(buf, SNAME_OFFSET, SNAME_OFFSET + SNAME_LEN, options);
      if (e) return fail(e.reason, `in sname field: ${e.message}`);
      sname = '';
    }
    options.delete(Opt.OVERLOAD);
  }
  return {
    ok: true,
    packet: {
      op,
      htype: buf[1]!,
      hlen,
      hops: buf[3]!,
      xid: buf.readUInt32BE(4),
      secs: buf.readUInt16BE(8),
      flags: buf.readUInt16BE(10),
      ciaddr: ipFromBytes(buf, 12),
      yiaddr: ipFromBytes(buf, 16),
      siaddr: ipFromBytes(buf, 20),
      giaddr: ipFromBytes(buf, 24),
      chaddr: buf.subarray(28, 44),
      sname,
      file,
      options,
    },
  };
}

export type EncodeResult = { ok: true; bytes: Buffer } | { ok: false; message: string };

/**
 * Encode `p` into at most `maxLen` bytes (default 576 - 28, RFC 2131 §2). Options that do not
 * fit spill into `file` and `sname` via option 52 when those fields are empty (RFC 2132 §9.3).
 * Every byte is written explicitly (zero padding to 300 bytes, RFC 1542 §3.2).
 */
export function encodePacket(p: DhcpPacket, maxLen = MIN_MAX_MESSAGE - 28): EncodeResult {
  const mainSpace = Math.max(0, maxLen - OPTIONS_OFFSET);
  const need = encodedOptionsLength(p.options);
  if (need + 1 <= mainSpace) {
    // Everything fits in the options field (the usual case): write the TLVs in place.
    const out = Buffer.alloc(Math.max(MIN_BOOTP_LEN, OPTIONS_OFFSET + need + 1));
    writeHeader(out, p, true, true);
    out[encodeOptionsInto(p.options, out, OPTIONS_OFFSET)] = Opt.END;
    return { ok: true, bytes: out };
  }
  return encodeSpilled(p, mainSpace, maxLen);
}

/** Options overflow the options field: spill whole TLVs into `file`/`sname` (RFC 2132 §9.3). */
function encodeSpilled(p: DhcpPacket, mainSpace: number, maxLen: number): EncodeResult {
  const chunks = encodeOptionChunks(p.options);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let main: Buffer[] = chunks;
  let fileArea: Buffer[] | undefined;
  let snameArea: Buffer[] | undefined;
  if (total + 1 > mainSpace) {
    const spill = spillOptions(chunks, mainSpace, p.file === '', p.sname === '');
    if (!spill)
      return { ok: false, message: `options need ${total + 1} bytes; ${mainSpace} available (max message ${maxLen})` };
    ({ main, fileArea, snameArea } = spill);
  }
  const mainLen = main.reduce((n, c) => n + c.length, 0) + 1;
  const out = Buffer.alloc(Math.max(MIN_BOOTP_LEN, OPTIONS_OFFSET + mainLen));
  writeHeader(out, p, fileArea === undefined, snameArea === undefined);
  let off = OPTIONS_OFFSET;
  for (const c of main) off += c.copy(out, off);
  out[off] = Opt.END;
  if (fileArea) writeArea(out, FILE_OFFSET, fileArea);
  if (snameArea) writeArea(out, SNAME_OFFSET, snameArea);
  return { ok: true, bytes: out };
}

function writeHeader(out: Buffer, p: DhcpPacket, withFile: boolean, withSname: boolean): void {
  out[0] = p.op;
  out[1] = p.htype;
  out[2] = p.hlen;
  out[3] = p.hops;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs & 0xffff, 8);
  out.writeUInt16BE(p.flags & 0xffff, 10);
  writeIp(out, 12, p.ciaddr);
  writeIp(out, 16, p.yiaddr);
  writeIp(out, 20, p.siaddr);
  writeIp(out, 24, p.giaddr);
  const ch = p.chaddr;
  for (let i = 0; i < 16 && i < ch.length; i += 1) out[28 + i] = ch[i]!;
  if (withSname && p.sname !== '') out.write(p.sname, SNAME_OFFSET, SNAME_LEN - 1, 'latin1'); // keep a NUL terminator
  if (withFile && p.file !== '') out.write(p.file, FILE_OFFSET, FILE_LEN - 1, 'latin1');
  out.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
}

function writeArea(out: Buffer, at: number, chunks: Buffer[]): void {
  let off = at;
  for (const c of chunks) off += c.copy(out, off);
  out[off] = Opt.END;
}

/** Greedy first-fit of whole TLVs into main (minus 3 bytes for option 52), file, then sname. */
function spillOptions(chunks: Buffer[], mainSpace: number, fileFree: boolean, snameFree: boolean) {
  if (!fileFree && !snameFree) return undefined;
  const areas = [
    { cap: mainSpace - 3 - 1, items: [] as Buffer[], used: 0 },
    { cap: fileFree ? FILE_LEN - 1 : 0, items: [] as Buffer[], used: 0 },
    { cap: snameFree ? SNAME_LEN - 1 : 0, items: [] as Buffer[], used: 0 },
  ];
  let a = 0;
  for (const c of chunks) {
    while (a < areas.length && areas[a]!.used + c.length > areas[a]!.cap) a += 1;
    if (a === areas.length) return undefined;
    areas[a]!.items.push(c);
    areas[a]!.used += c.length;
  }
  const usesFile = areas[1]!.items.length > 0;
  const usesSname = areas[2]!.items.length > 0;
  const flag = (usesFile ? Overload.FILE : 0) | (usesSname ? Overload.SNAME : 0);
  return {
    main: [Buffer.from([Opt.OVERLOAD, 1, flag]), ...areas[0]!.items],
    fileArea: usesFile ? areas[1]!.items : undefined,
    snameArea: usesSname ? areas[2]!.items : undefined,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `aa:bb:…` of the first `n` bytes (hot path: table lookup, no intermediate arrays). */
export function hexPairs(b: Buffer, n: number): string {
  let s = n > 0 ? HEX[b[0]!]! : '';
  for (let i = 1; i < n; i += 1) s += ':' + HEX[b[i]!]!;
  return s;
}

/** Client hardware address of a packet (first `hlen` bytes of chaddr) as hex pairs. */
export function hardwareAddress(p: DhcpPacket): string {
  return hexPairs(p.chaddr, Math.min(p.hlen, 16));
}

/** Stable one-line-per-field text of a packet, for golden files and debug logs. */
export function debugString(p: DhcpPacket): string {
  const lines = [
    `op=${p.op} htype=${p.htype} hlen=${p.hlen} hops=${p.hops} xid=0x${p.xid.toString(16).padStart(8, '0')} secs=${p.secs} flags=0x${p.flags.toString(16).padStart(4, '0')}`,
    `ciaddr=${p.ciaddr} yiaddr=${p.yiaddr} siaddr=${p.siaddr} giaddr=${p.giaddr}`,
    `chaddr=${hardwareAddress(p)}`,
    `sname=${JSON.stringify(p.sname)} file=${JSON.stringify(p.file)}`,
  ];
  for (const [code, v] of p.options) lines.push(`opt ${code} = ${v.toString('hex')}`);
  return lines.join('\n');
}
