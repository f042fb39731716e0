/**
 * @module backup/tar
 * The few parts of POSIX ustar (POSIX.1-1988, IEEE 1003.1 §10.1) a backup archive needs:
 * regular files with short names, read and written whole in memory. Readable by `tar tvf`.
 * Every header's checksum is verified on read; anything else (links, devices, long names,
 * PAX headers) is refused rather than guessed at.
 */

const BLOCK = 512;

export interface TarEntry {
  name: string;
  mode: number;
  data: Buffer;
  mtime?: number;
}

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(e.name) > 99) throw new Error(`tar: name too long: ${e.name}`);
  h.write(e.name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, e.data.length);
  octal(h, 136, 12, Math.floor((e.mtime ?? Date.now()) / 1000));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = 0x30; // '0': regular file
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** The archive: each entry's header and data padded to 512 bytes, then two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e), e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export class TarFormatError extends Error {}

function readOctal(h: Buffer, off: number, len: number): number {
  const s = h
    .toString('ascii', off, off + len)
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`bad number field at header offset ${off}`);
  return parseInt(s, 8);
}

/** Entries of a ustar archive, in order. Throws {@link TarFormatError} on anything malformed. */
export function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return out;
    const stored = readOctal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) throw new TarFormatError(`header checksum mismatch at byte ${off}`);
    const nul = h.indexOf(0);
    const name = h.toString('utf8', 0, nul === -1 || nul > 100 ? 100 : nul);
    const type = h[156];
    if (type !== 0x30 && type !== 0) throw new TarFormatError(`${name}: not a regular file (type ${type})`);
    const size = readOctal(h, 124, 12);
    const start = off + BLOCK;
    if (start + size > buf.length) throw new TarFormatError(`${name}: truncated (${size} bytes declared)`);
    out.push({
      name,
      mode: readOctal(h, 100, 8),
      data: buf.subarray(start, start + size),
      mtime: readOctal(h, 136, 12) * 1000,
    });
    off = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new TarFormatError('no end-of-archive marker (truncated archive)');
}
