/**
 * @module http/assets/pump
 * The body pump: copies file slices (and literal multipart heads) to the response in large
 * chunks from a pool of reused buffers, with backpressure. This replaces send's
 * `fs.createReadStream(path, {start, end})` body (64 KiB reads into a fresh buffer each time),
 * which is where send spends its time — measured in docs/http-assets.md:
 * - 64 KiB reads: one thread-pool round trip + one socket write per 64 KiB;
 * - a fresh buffer per read: fresh pages from the kernel (zeroed, faulted in) for every chunk.
 * Slices of 64 KiB and more go through sendfile(2) on a native thread when the addon is built
 * (sendfile.ts: no copy through user space at all); the pooled copy is the fallback and serves
 * short slices.
 *
 * A buffer returns to the pool only from the write callback, i.e. once the socket no longer
 * references it. Memory bound: the buffers of active responses share `activeBudget` (a stalled
 * reader pins its buffer until the kernel takes it), plus `maxIdleBytes` of idle buffers.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isSlice, type Segment } from './multipart';
import {
  SENDFILE_JOB_BYTES,
  SENDFILE_MIN_BYTES,
  SENDFILE_NOW_BYTES,
  type Sendfile,
  type SendfileHandle,
} from './sendfile';

export interface BufferPool {
  readonly chunkSize: number;
  /**
   * A buffer from the size classes (64 KiB, 256 KiB, …, chunkSize): the smallest that holds
   * `want`, but no larger than this response's share of the active budget.
   */
  take(want: number): Buffer;
  give(buf: Buffer): void;
  /** A response starts / stops drawing buffers (its share of the budget follows the count). */
  enter(): void;
  leave(): void;
}

const SMALLEST_CLASS = 64 * 1024;

export interface PoolLimits {
  /** Largest buffer (one read, one socket write), bytes. */
  chunkSize: number;
  /** Idle buffers kept for reuse, bytes over all classes. */
  maxIdleBytes: number;
  /** Buffers of active responses, bytes: each gets budget / active, at least 64 KiB. */
  activeBudget: number;
}

/**
 * Size-classed pool: small reads (4 KiB files, short ranges) do not pin a whole chunk, and
 * steady traffic allocates nothing — fresh large buffers cost kernel page zeroing and faults,
 * and their external memory drives V8's GC (24 % of CPU on 4 KiB GETs before classes).
 * Few responses get large chunks (fewer thread-pool round trips and writes); a boot storm of
 * hundreds gets smaller ones, so memory stays bounded (G16: RSS ≤ 256 MB at 200 downloads).
 */
export function createBufferPool(limits: PoolLimits): BufferPool {
  const { chunkSize, maxIdleBytes, activeBudget } = limits;
  const classes: number[] = [];
  for (let c = Math.min(SMALLEST_CLASS, chunkSize); c < chunkSize; c *= 4) classes.push(c);
  classes.push(chunkSize);
  const idle = new Map<number, Buffer[]>(classes.map((c) => [c, []]));
  let idleBytes = 0;
  let active = 0;
  const sizeFor = (want: number): number => {
    const cap = Math.max(SMALLEST_CLASS, Math.floor(activeBudget / Math.max(1, active)));
    const size = classes.find((c) => c >= Math.min(want, cap)) ?? chunkSize;
    if (size <= cap) return size;
    return [...classes].reverse().find((c) => c <= cap) ?? (classes[0] as number);
  };
  return {
    chunkSize,
    take: (want) => {
      const size = sizeFor(want);
      const buf = idle.get(size)?.pop();
      if (buf === undefined) return Buffer.allocUnsafeSlow(size);
      idleBytes -= size;
      return buf;
    },
    give: (buf) => {
      const list = idle.get(buf.length);
      if (list === undefined || idleBytes + buf.length > maxIdleBytes) return;
      list.push(buf);
      idleBytes += buf.length;
    },
    enter: () => void active++,
    leave: () => void active--,
  };
}

/** Live progress, readable while the body is still going (e.g. when the client disconnects). */
export interface PumpProgress {
  /** Body bytes handed to the socket so far. */
  bytes: number;
  /** Of those, bytes sent with sendfile(2). */
  sendfileBytes?: number;
}

export interface PumpResult {
  /** Body bytes handed to the socket. */
  readonly bytes: number;
  /** True when the whole body was written and the response ended. */
  readonly complete: boolean;
  readonly error?: Error;
}

// O_NOFOLLOW: the jail resolved a symlink-free path; refuse if the last component was swapped
// for a symlink since (best effort; a writer inside images/ is trusted, images/README.md).
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

/**
 * Streams `segments` of the file to `res`, then ends it. The file is a borrowed descriptor
 * (left open) or a path (opened and closed here). `done` runs exactly once, after the last
 * read has landed and a descriptor we opened is closed. Headers must be set before; they go
 * out with the first chunk.
 */
export function pumpSegments(
  source: { readonly fd: number } | { readonly path: string },
  res: ServerResponse,
  segments: readonly Segment[],
  pool: BufferPool,
  progress: PumpProgress,
  done: (r: PumpResult) => void,
  opts: PumpOptions = {},
): void {
  const sendfile = opts.sendfile ?? null;
  new BodyPump(
    source,
    res,
    segments,
    pool,
    progress,
    done,
    sendfile !== null && sendfile.canUse(res) ? sendfile : null,
  ).start();
}

export interface PumpOptions {
  /** The sendfile(2) sender for slices of 64 KiB and more; absent or null: every body is copied. */
  sendfile?: Sendfile | null;
}

class BodyPump {
  private fd = -1;
  private seg = 0; // index of the current segment
  private pos = -1; // next file offset in the current slice (-1: slice not started)
  private reading = false; // a read or sendfile job in flight keeps the (borrowed) descriptor in use
  private job: SendfileHandle | null = null;
  private finished = false;
  private outcome: PumpResult | null = null;
  private readonly onClose = (): void => this.finish(false);
  private readonly step = (): void => this.next();

  constructor(
    private readonly source: { readonly fd: number } | { readonly path: string },
    private readonly res: ServerResponse,
    private readonly segments: readonly Segment[],
    private readonly pool: BufferPool,
    private readonly progress: PumpProgress,
    private readonly done: (r: PumpResult) => void,
    /** Null once sendfile cannot be used for this response (then every slice is copied). */
    private sendfileTo: Sendfile | null,
  ) {}

  start(): void {
    this.pool.enter();
    if (this.res.destroyed) return this.finish(false); // the client left while we looked the file up
    this.res.once('close', this.onClose);
    if ('fd' in this.source) {
      this.fd = this.source.fd; // borrowed from the open-file cache: not ours to close
      return this.next();
    }
    fs.open(this.source.path, OPEN_FLAGS, (err, opened) => {
      if (err !== null) return this.fail(err);
      if (this.finished) return void fs.close(opened, () => undefined);
      this.fd = opened;
      this.next();
    });
  }

  /** Writes literal segments, moves across slices, and starts the next read. */
  private next(): void {
    while (!this.finished) {
      const s = this.segments[this.seg];
      if (s === undefined) return void this.res.end(() => this.finish(true));
      if (!isSlice(s)) {
        this.seg++;
        this.progress.bytes += s.length;
        if (!this.res.write(s)) return void this.res.once('drain', this.step);
        continue;
      }
      if (this.pos < 0) this.pos = s.start;
      if (this.pos > s.end) {
        this.seg++;
        this.pos = -1;
        continue;
      }
      return this.read(this.pos, s.end);
    }
  }

  private read(from: number, to: number): void {
    if (this.sendfileTo !== null && to - from + 1 >= SENDFILE_MIN_BYTES) this.sendfile(this.sendfileTo, from, to);
    else this.copy(from, to);
  }

  /**
   * The slice with sendfile(2): what the socket takes now on this thread (a 1 MiB range is
   * usually all of it), the rest on a native thread, SENDFILE_JOB_BYTES per job; the copy path
   * when sendfile cannot be used for this response.
   */
  private sendfile(sf: Sendfile, from: number, to: number): void {
    let now: number | null;
    try {
      now = sf.sendNow(this.res, this.fd, from, Math.min(to - from + 1, SENDFILE_NOW_BYTES));
    } catch (err) {
      return this.fail(err as Error);
    }
    if (now !== null && now > 0) {
      this.sent(now);
      if (from + now > to) return this.next();
      from += now;
    }
    this.reading = true;
    const job = sf.sendSlice(this.res, this.fd, from, Math.min(to - from + 1, SENDFILE_JOB_BYTES), (err, sent) => {
      this.job = null;
      this.reading = false;
      this.sent(sent);
      if (this.finished) return this.settle();
      if (err !== null && sent === 0 && (err as NodeJS.ErrnoException).code === 'EBUSY') {
        this.sendfileTo = null; // the native job cap is reached: copy this response instead
        return this.copy(from, to);
      }
      if (err !== null) return this.fail(err);
      this.next();
    });
    if (job !== null) return void (this.job = job);
    this.reading = false;
    this.sendfileTo = null; // e.g. a pipelined response queued behind another one
    this.copy(from, to);
  }

  private sent(n: number): void {
    this.pos += n;
    this.progress.bytes += n;
    this.progress.sendfileBytes = (this.progress.sendfileBytes ?? 0) + n;
  }

  /** One positional read on the thread pool, then one socket write; backpressure via 'drain'. */
  private copy(from: number, to: number): void {
    const buf = this.pool.take(to - from + 1);
    const want = Math.min(buf.length, to - from + 1);
    this.reading = true;
    fs.read(this.fd, buf, 0, want, from, (err, got) => {
      this.reading = false;
      if (this.finished) {
        this.pool.give(buf);
        return this.settle();
      }
      if (err !== null || got !== want) {
        this.pool.give(buf);
        return this.fail(err ?? new Error('file shrank while being served'));
      }
      this.pos += got;
      this.progress.bytes += got;
      const more = this.res.write(got === buf.length ? buf : buf.subarray(0, got), () => this.pool.give(buf));
      if (more) this.next();
      else this.res.once('drain', this.step);
    });
  }

  private finish(complete: boolean, error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.job?.cancel();
    this.pool.leave();
    this.res.removeListener('close', this.onClose);
    const bytes = this.progress.bytes;
    this.outcome = error === undefined ? { bytes, complete } : { bytes, complete, error };
    this.settle();
  }

  private fail(err: Error): void {
    this.finish(false, err);
    this.res.destroy(err); // Content-Length can no longer be met: the client must see a cut
  }

  /** Reports once the response is over and no read still uses the descriptor. */
  private settle(): void {
    const r = this.outcome;
    if (r === null || this.reading) return;
    this.outcome = null;
    if (this.fd >= 0 && !('fd' in this.source)) fs.close(this.fd, () => this.done(r));
    else this.done(r);
  }
}
