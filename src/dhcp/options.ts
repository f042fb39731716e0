/**
 * @module dhcp/options
 * DHCP option TLVs (RFC 2132 §2): decode an option area into a map of code → value with
 * Pad/End handling and RFC 3396 concatenation of repeated codes; encode a map back into
 * TLVs, splitting values longer than 255 bytes into consecutive instances (RFC 3396 §7).
 * Typed getters never throw: a value of the wrong length reads as undefined.
 */
import { Opt } from './constants';

/** Option code → raw value. Insertion order is the order the encoder writes. */
export type Options = Map<number, Buffer>;

export type OptionAreaError = { reason: 'truncated-option'; message: string };

/**
 * Reads TLVs from `buf[start, end)` into `into`, concatenating repeated codes (RFC 3396 §5).
 * Stops at End (255). Returns an error when a length runs past `end`.
 */
export function decodeOptionArea(buf: Buffer, start: number, end: number, into: Options): OptionAreaError | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === Opt.PAD) {
      i += 1; // RFC 2132 §3.1: Pad is a single octet
      continue;
    }
    if (code === Opt.END) return undefined;
    if (i + 1 >= end)
      return { reason: 'truncated-option', message: `option ${code} at offset ${i} has no length octet` };
    const len = buf[i + 1]!;
    if (i + 2 + len > end) {
      return {
        reason: 'truncated-option',
        message: `option ${code} claims ${len} bytes but only ${end - i - 2} remain`,
      };
    }
    // A view of exactly the validated length (D20: never read past what the option declares
    // and the datagram holds). Decoded packets alias the input, which is never mutated.
    const value = buf.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    into.set(code, prev === undefined ? value : Buffer.concat([prev, value]));
    i += 2 + len;
  }
  return undefined; // ran to the end of the area without End: tolerated (many ROMs omit it in file/sname)
}

/** Bytes {@link encodeOptionsInto} writes for `options` (values > 255 bytes split, RFC 3396 §7). No End. */
export function encodedOptionsLength(options: Options): number {
  let n = 0;
  for (const [code, value] of options) {
    if (code === Opt.PAD || code === Opt.END) continue;
    n += value.length === 0 ? 2 : value.length + 2 * Math.ceil(value.length / 255);
  }
  return n;
}

/**
 * Writes every option's TLVs into `out` at `off` (the caller checked the room with
 * {@link encodedOptionsLength}); returns the offset after them. Same bytes as
 * {@link encodeOptionChunks}, without a buffer per option (hot path).
 */
export function encodeOptionsInto(options: Options, out: Buffer, off: number): number {
  for (const [code, value] of options) {
    if (code === Opt.PAD || code === Opt.END) continue;
    const len = value.length;
    if (len === 0) {
      out[off] = code;
      out[off + 1] = 0;
      off += 2;
      continue;
    }
    for (let at = 0; at < len; at += 255) {
      const part = Math.min(255, len - at);
      out[off] = code;
      out[off + 1] = part;
      off += 2;
      if (part <= 16)
        for (let k = 0; k < part; k += 1) out[off + k] = value[at + k]!; // cheaper than a native copy
      else value.copy(out, off, at, at + part);
      off += part;
    }
  }
  return off;
}

/** Encoded TLVs for every option, values > 255 bytes split per RFC 3396 §7. No End. */
export function encodeOptionChunks(options: Options): Buffer[] {
  const chunks: Buffer[] = [];
  for (const [code, value] of options) {
    if (code === Opt.PAD || code === Opt.END) continue;
    if (value.length === 0) {
      chunks.push(Buffer.from([code, 0]));
      continue;
    }
    for (let off = 0; off < value.length; off += 255) {
      const part = value.subarray(off, Math.min(off + 255, value.length));
      const tlv = Buffer.allocUnsafe(2 + part.length);
      tlv[0] = code;
      tlv[1] = part.length;
      part.copy(tlv, 2);
      chunks.push(tlv);
    }
  }
  return chunks;
}

// ---- typed getters (RFC 2132 value formats) -------------------------------------------

export function getU8(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v !== undefined && v.length === 1 ? v[0] : undefined;
}

export function getU16(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v !== undefined && v.length === 2 ? v.readUInt16BE(0) : undefined;
}

export function getU32(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v !== undefined && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

export function ipFromBytes(b: Buffer, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Writes dotted quad `ip` at `off` (hot path: no split/allocations). Non-digits read as 0. */
export function writeIp(buf: Buffer, off: number, ip: string): void {
  let octet = 0;
  let i = 0;
  for (let k = 0; k < ip.length && i < 4; k += 1) {
    const c = ip.charCodeAt(k);
    if (c === 46) {
      buf[off + i] = octet & 255;
      i += 1;
      octet = 0;
    } else if (c >= 48 && c <= 57) octet = octet * 10 + (c - 48);
  }
  if (i < 4) buf[off + i] = octet & 255;
}

export function ipToBytes(ip: string): Buffer {
  const b = Buffer.alloc(4);
  writeIp(b, 0, ip);
  return b;
}

export function getIp(o: Options, code: number): string | undefined {
  const v = o.get(code);
  return v !== undefined && v.length === 4 ? ipFromBytes(v) : undefined;
}

/** An address option as an unsigned 32-bit integer (no string on the hot path). */
export function getIpInt(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v !== undefined && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** Printable text of an option (latin1), trailing NULs removed; undefined when absent. */
export function getText(o: Options, code: number): string | undefined {
  const v = o.get(code);
  if (v === undefined) return undefined;
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end -= 1;
  return v.toString('latin1', 0, end);
}

/** Hex of the raw value (client identifier, UUID). */
export function getHex(o: Options, code: number): string | undefined {
  const v = o.get(code);
  return v === undefined ? undefined : v.toString('hex');
}

export function u8(n: number): Buffer {
  return Buffer.from([n & 255]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function ips(list: readonly string[]): Buffer {
  return Buffer.concat(list.map(ipToBytes));
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

// ---- domain search list (RFC 3397) --------------------------------------------------------

/**
 * Option 119's value (RFC 3397 §2): the names in RFC 1035 §3.1 wire form, one after another,
 * with RFC 1035 §4.1.4 compression: a suffix already written becomes a two-octet pointer to its
 * offset in the value (offsets count over the whole value, after RFC 3396 concatenation). Names
 * are compared case-insensitively (RFC 1035 §2.3.3); a trailing dot is ignored.
 */
export function encodeDomainSearch(names: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const at = new Map<string, number>();
  let len = 0;
  for (const name of names) {
    const labels = name.replace(/\.$/, '').split('.');
    let pointer: number | undefined;
    for (let i = 0; i < labels.length; i += 1) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      pointer = at.get(suffix);
      if (pointer !== undefined) break;
      if (len < 0x4000) at.set(suffix, len); // a pointer holds 14 bits
      const label = Buffer.from(labels[i]!, 'latin1');
      parts.push(Buffer.from([label.length]), label);
      len += 1 + label.length;
    }
    if (pointer !== undefined) {
      parts.push(Buffer.from([0xc0 | (pointer >> 8), pointer & 0xff]));
      len += 2;
    } else {
      parts.push(Buffer.from([0]));
      len += 1;
    }
  }
  return Buffer.concat(parts);
}

/** The names of an option 119 value; undefined when it is malformed (bad pointer, loop, overrun). */
export function decodeDomainSearch(v: Buffer): string[] | undefined {
  const names: string[] = [];
  let i = 0;
  while (i < v.length) {
    const labels: string[] = [];
    let p = i;
    let next: number | undefined; // where the next name starts, once a pointer was followed
    for (let hops = 0; ; hops += 1) {
      if (p >= v.length || hops > v.length) return undefined;
      const n = v[p]!;
      if (n === 0) {
        next ??= p + 1;
        break;
      }
      if ((n & 0xc0) === 0xc0) {
        if (p + 1 >= v.length) return undefined;
        const target = ((n & 0x3f) << 8) | v[p + 1]!;
        next ??= p + 2;
        if (target >= p) return undefined; // RFC 1035 §4.1.4: a pointer refers to a prior occurrence
        p = target;
        continue;
      }
      if ((n & 0xc0) !== 0 || p + 1 + n > v.length) return undefined;
      labels.push(v.toString('latin1', p + 1, p + 1 + n));
      p += 1 + n;
    }
    names.push(labels.join('.'));
    i = next;
  }
  return names;
}

// ---- operator-defined option values (config/sections/dhcp-options.ts validated them) -------

export type OptionValueType = 'ip' | 'ips' | 'u8' | 'u16' | 'u32' | 'i32' | 'bool' | 'string' | 'hex' | 'domains';

/** The wire bytes of a typed option value (RFC 2132 §2 formats; `domains` per RFC 3397). */
export function encodeTypedValue(type: OptionValueType, value: unknown): Buffer {
  switch (type) {
    case 'ip':
      return ipToBytes(value as string);
    case 'ips':
      return ips(value as string[]);
    case 'u8':
      return u8(value as number);
    case 'u16':
      return u16(value as number);
    case 'u32':
      return u32(value as number);
    case 'i32': {
      const b = Buffer.alloc(4);
      b.writeInt32BE(value as number);
      return b;
    }
    case 'bool':
      return u8(value === true ? 1 : 0); // RFC 2132 §2: a flag is one octet, 0 or 1
    case 'string':
      return Buffer.from(value as string, 'utf8');
    case 'hex':
      return Buffer.from((value as string).replace(/:/g, ''), 'hex');
    case 'domains':
      return encodeDomainSearch(value as string[]);
  }
}
