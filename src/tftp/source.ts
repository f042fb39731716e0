/**
 * @module tftp/source
 * DATA packets of one transfer by absolute block number (1, 2, ... past 65535; the 16-bit wire
 * number is written into the header). Packets live in a fixed ring of slots laid out as
 * `| 03 | block# | payload |`, so a send is one pre-made Buffer view: no allocation, no copy and
 * no buffer list per packet (Node's per-packet overhead is the bottleneck of a TFTP server).
 *
 * Memory per transfer is the ring (about 256 KiB, at least 4 windows), whatever the file size.
 * A slot is refilled only after the client ACKed the block it held, so a send that Node queued
 * (EAGAIN) never sees its bytes change: an ACKed block has left the socket.
 *
 * Filling: buffer content is copied in on demand; a file (FileHandle) is read with `readv`
 * straight into the slots, many blocks per call, ahead of the window; any other stream is copied
 * from its chunks with back-pressure. netascii is converted before (buffer) or on the way (stream).
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TftpContent } from './types';
import { netasciiTransform, toNetascii } from './netascii';

const RING_BYTES = 256 * 1024;
const MAX_RING_BYTES = 16 * 1024 * 1024;

export class BlockSource {
  /** Total payload bytes, or -1 while unknown (netascii-converted stream until it ends). */
  total: number;
  /** Set when the content failed (read error, or shorter than its announced size). */
  error: Error | null = null;
  /** Called when more blocks became available or the content ended/failed. */
  onChange: (() => void) | null = null;

  private readonly slot: number;
  private readonly slots: number;
  private readonly ring: Buffer;
  private readonly views: Buffer[];
  /** Blocks 1..filled are in the ring (the oldest ones possibly already overwritten). */
  private filled = 0;
  private acked = 0;
  private buffer: Buffer | null = null;
  private file: FileHandle | null = null;
  private reading = false;
  private stream: Readable | null = null;
  private pending: Buffer | null = null;
  /** Stream bytes copied into slots so far. */
  private placed = 0;
  private ended = false;
  private closed = false;

  constructor(
    content: TftpContent,
    readonly blksize: number,
    netascii: boolean,
    private readonly window: number,
  ) {
    this.slot = blksize + 4;
    this.slots = Math.max(
      8,
      4 * window,
      Math.min(Math.ceil(RING_BYTES / this.slot), Math.floor(MAX_RING_BYTES / this.slot)),
    );
    this.ring = Buffer.allocUnsafeSlow(this.slots * this.slot);
    this.views = [];
    for (let i = 0; i < this.slots; i++) {
      this.views.push(this.ring.subarray(i * this.slot, (i + 1) * this.slot));
      this.ring.writeUInt16BE(3, i * this.slot); // opcode DATA
    }
    if ('buffer' in content) {
      this.buffer = netascii
        ? toNetascii(content.buffer.subarray(0, content.size))
        : content.buffer.subarray(0, content.size);
      this.total = this.buffer.length;
      this.ended = true;
    } else if ('file' in content && !netascii) {
      this.file = content.file;
      this.total = content.size;
    } else {
      this.total = netascii ? -1 : content.size;
      const raw =
        'file' in content
          ? content.file.createReadStream({ start: 0, highWaterMark: 256 * 1024 })
          : (content.stream() as Readable);
      const s = netascii ? raw.pipe(netasciiTransform()) : raw;
      if (netascii) raw.on('error', (e: Error) => this.fail(e));
      this.stream = s;
      s.on('data', (c: Buffer) => this.onChunk(c));
      s.on('end', () => this.onEnd());
      s.on('error', (e: Error) => this.fail(e));
    }
  }

  /** Absolute number of the last (short) block, or -1 while unknown. */
  lastBlock(): number {
    return this.total < 0 ? -1 : Math.floor(this.total / this.blksize) + 1;
  }

  /** Whether the packet of block `n` can be produced now (starts a read if it cannot). */
  available(n: number): boolean {
    if (n <= this.filled) return true;
    if (this.buffer) return this.fillFromBuffer(n);
    if (this.file) this.readAhead();
    else if (this.pending) this.drainPending();
    return n <= this.filled;
  }

  /** The DATA packet of block `n` (must be {@link available}). */
  packet(n: number): Buffer {
    const v = this.views[(n - 1) % this.slots]!;
    if (n !== this.lastBlock()) return v;
    return v.subarray(0, 4 + (this.total - (n - 1) * this.blksize));
  }

  /** Blocks up to and including `acked` were delivered: their slots may be refilled. */
  release(acked: number): void {
    this.acked = acked;
    if (this.file) {
      // Batch reads: refill when a quarter of the ring is free or the window is about to starve.
      const free = acked + this.slots - this.filled;
      if (free >= this.slots >> 2 || this.filled - acked <= this.window) this.readAhead();
    } else if (this.stream) {
      if (this.pending) this.drainPending();
      if ((this.pending?.length ?? 0) < this.blksize && this.stream?.isPaused()) this.stream.resume();
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.onChange = null;
    if (this.file && !this.reading) void this.file.close().catch(() => undefined);
    const s = this.stream;
    this.stream = null;
    if (s) {
      s.removeAllListeners('data');
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  /** Writes block `n`'s 16-bit number into its slot; returns the payload offset in the ring. */
  private header(n: number): number {
    const o = ((n - 1) % this.slots) * this.slot;
    this.ring[o + 2] = (n >> 8) & 0xff;
    this.ring[o + 3] = n & 0xff;
    return o + 4;
  }

  /** Copies blocks up to `n` (and a few ahead) from the in-memory content. */
  private fillFromBuffer(n: number): boolean {
    const upto = Math.min(this.lastBlock(), this.acked + this.slots, n + 16);
    const buf = this.buffer!;
    for (let b = this.filled + 1; b <= upto; b++) {
      const start = (b - 1) * this.blksize;
      buf.copy(this.ring, this.header(b), start, Math.min(start + this.blksize, buf.length));
    }
    if (upto > this.filled) this.filled = upto;
    return n <= this.filled;
  }

  /** One `readv` into the free slots after `filled` (contiguous in the ring), if none is running. */
  private readAhead(): void {
    if (this.reading || this.closed || this.error) return;
    const limit = Math.min(this.lastBlock(), this.acked + this.slots);
    const first = this.filled + 1;
    const firstSlot = (first - 1) % this.slots;
    const count = Math.min(limit - this.filled, this.slots - firstSlot, MAX_IOV); // no wrap inside one call
    if (count <= 0) return;
    const iov: Buffer[] = [];
    for (let b = first; b < first + count; b++) {
      const o = this.header(b);
      iov.push(this.ring.subarray(o, o + this.blksize));
    }
    const position = (first - 1) * this.blksize;
    const want = Math.min(count * this.blksize, this.total - position);
    this.reading = true;
    this.file!.readv(iov, position).then(
      ({ bytesRead }) => {
        this.reading = false;
        if (this.closed) return void this.file!.close().catch(() => undefined);
        if (bytesRead < want)
          return this.fail(new Error(`file ended at ${position + bytesRead} of ${this.total} bytes`));
        this.filled = first + count - 1;
        this.onChange?.();
        this.readAhead();
      },
      (e: Error) => {
        this.reading = false;
        if (this.closed) return void this.file!.close().catch(() => undefined);
        this.fail(e);
      },
    );
  }

  private onChunk(c: Buffer): void {
    if (this.closed) return;
    if (this.total >= 0) {
      const room = this.total - this.placed - (this.pending?.length ?? 0);
      if (c.length > room) c = c.subarray(0, Math.max(0, room));
    }
    this.pending = this.pending ? Buffer.concat([this.pending, c]) : c;
    this.drainPending();
    if ((this.pending?.length ?? 0) >= this.blksize && this.stream && !this.stream.isPaused()) this.stream.pause();
  }

  private onEnd(): void {
    this.ended = true;
    this.drainPending();
    this.onChange?.();
  }

  /** Moves whole blocks (and the final short or empty one) from stream chunks into free slots. */
  private drainPending(): void {
    const before = this.filled;
    while (this.filled < this.acked + this.slots && !this.error) {
      const n = this.filled + 1;
      const p = this.pending;
      const plen = p ? p.length : 0;
      if (this.ended && this.total >= 0 && this.placed + plen < this.total) {
        this.fail(new Error(`content ended at ${this.placed + plen} of ${this.total} bytes`)); // T11
        return;
      }
      const final = this.total >= 0 ? this.placed + plen === this.total : this.ended;
      if (plen >= this.blksize || (final && plen > 0)) {
        const take = Math.min(this.blksize, plen);
        p!.copy(this.ring, this.header(n), 0, take);
        this.placed += take;
        this.filled = n;
        this.pending = take < plen ? p!.subarray(take) : null;
        if (take < this.blksize) {
          if (this.total < 0) this.total = this.placed; // netascii stream: size known at the short block
          break;
        }
        continue;
      }
      if (!this.ended && !(this.total >= 0 && this.placed === this.total)) break;
      if (this.total < 0) this.total = this.placed;
      if (n === this.lastBlock()) {
        this.header(n); // a size that is a multiple of blksize ends with an empty block
        this.filled = n;
      }
      break;
    }
    if (this.filled > before) this.onChange?.();
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.onChange?.();
  }
}

/** readv takes at most IOV_MAX (1024 on Linux) buffers. */
const MAX_IOV = 1024;
