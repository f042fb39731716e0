/**
 * @module http/assets/sendfile
 * The zero-copy body path: a file slice goes page cache → socket with sendfile(2) on a native
 * thread (native/sendfile.c), the way nginx serves static files. Node has no sendfile, and its
 * copy through user space (fs.read on the thread pool, then a socket write) was the measured
 * ceiling of /images (bench/RESULTS.md, docs/http-assets.md).
 *
 * Used only when it is safe to hand the socket to another thread for a while:
 * - the daemon chose this path (the addon is loaded) and the socket is a TCP socket with a
 *   descriptor (not TLS, not a test double);
 * - this response owns the socket now (not a pipelined response still queued behind another)
 *   and nothing of it is waiting in Node's buffers: the headers (and any multipart head) are
 *   flushed, then an empty write's callback proves earlier writes reached the kernel;
 * - nothing else writes to the socket until the job is done: Node queues later writes (a
 *   pipelined response) in its own buffers until this response ends.
 * Anything else falls back to the pump's read + write path.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { NativeSendfile, SendfileJob } from '../../native/sendfile-types';

/** Slices shorter than this go through the pump (a thread start costs more than the copy). */
export const SENDFILE_MIN_BYTES = 64 * 1024;
/**
 * At most this much is tried on the JS thread first (sendNow): a 1 MiB range usually fits the
 * socket buffer whole, so it needs no thread hand-off. Bounded, because a page-cache miss
 * reads from disk inside the call (nginx without aio threads has the same trade-off).
 */
export const SENDFILE_NOW_BYTES = 2 * 1024 * 1024;
/** One job moves at most this much, so progress is reported between jobs. */
export const SENDFILE_JOB_BYTES = 16 * 1024 * 1024;
/** A reader that takes nothing for this long is cut off (nginx's send_timeout default). */
export const SENDFILE_IDLE_MS = 60_000;

const EMPTY = Buffer.alloc(0);

export interface SendfileHandle {
  cancel(): void;
}

/**
 * The sendfile(2) body sender. The daemon picks it once (daemon/fast-paths.ts) and hands it to
 * the assets router; without it (addon not built, KICKSTAND_NATIVE=off) bodies are copied.
 */
export interface Sendfile {
  /** True when slices of this response may go through sendfile (see the module comment). */
  canUse(res: ServerResponse): boolean;
  /**
   * Flushes the headers, then sends what the socket buffer takes right now (≤ `length`) with
   * sendfile(2) on this thread. Returns the bytes sent (0: the buffer is full), or null when
   * this response cannot use sendfile now (earlier writes still queued in Node): the caller then
   * uses sendSlice or its own path. Throws what sendfile(2) reports (code ESHORT: file ended).
   */
  sendNow(res: ServerResponse, fd: number, offset: number, length: number): number | null;
  /**
   * Flushes what Node holds for this response, then sends `length` bytes of `fd` from `offset`.
   * `done(error, sent)` runs once; `error` null on success. Returns null (and never calls
   * `done`) when the response cannot use sendfile right now: the caller uses its own path. An
   * error with code EBUSY and nothing sent means "too many jobs": the caller may copy instead.
   */
  sendSlice(
    res: ServerResponse,
    fd: number,
    offset: number,
    length: number,
    done: (error: Error | null, sent: number) => void,
  ): SendfileHandle | null;
}

/**
 * The socket's descriptor, or -1. Node 20 has no public API for a net.Socket's descriptor
 * (only the reverse: `new net.Socket({ fd })`), so this reads libuv's TCP handle (`_handle.fd`,
 * set on POSIX). It is the only private access of the fast path: when a Node version drops or
 * renames it, this returns -1 and every response takes the copy path (pump.ts), unchanged.
 */
function privateSocketFd(sock: Socket): number {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

export function createSendfile(addon: NativeSendfile): Sendfile {
  /**
   * The socket of `res` once its headers are flushed, if this response owns it and none of its
   * bytes wait in Node's own queue (a pipelined response queued behind another one has some):
   * then anything still pending is in the socket's queue, bound for the kernel. Null otherwise.
   */
  const ownedSocket = (res: ServerResponse): { sock: Socket; sfd: number } | null => {
    const sock = res.socket;
    if (sock === null) return null;
    if (!res.headersSent) res.flushHeaders();
    if (res.writableLength !== sock.writableLength) return null; // ServerResponse adds its own queue
    const sfd = privateSocketFd(sock);
    return sfd < 0 ? null : { sock, sfd };
  };

  return {
    canUse(res) {
      const sock = res.socket;
      if (sock === null || sock.destroyed || !sock.writable) return false;
      if ('encrypted' in sock) return false; // TLS: the kernel would send plaintext
      return privateSocketFd(sock) >= 0;
    },

    sendNow(res, fd, offset, length) {
      const owned = ownedSocket(res);
      // A write that completed synchronously (the usual case for headers) is already off the queue.
      if (owned === null || owned.sock.writableLength !== 0) return null;
      try {
        return addon.sendfileNow(owned.sfd, fd, offset, length);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        throw errorFor(code);
      }
    },

    sendSlice(res, fd, offset, length, done) {
      const owned = ownedSocket(res);
      if (owned === null) return null;
      const { sock, sfd } = owned;
      let job: SendfileJob | null = null;
      let cancelled = false;
      const start = (): void => {
        try {
          job = addon.sendfile(sfd, fd, offset, length, SENDFILE_IDLE_MS, (code, sent) =>
            done(code === null ? null : errorFor(code), sent),
          );
        } catch (e) {
          done(e as Error, 0);
        }
      };
      // A write that completed synchronously (the usual case for headers) is already off the
      // socket's queue; otherwise an empty write's callback runs once everything before it has
      // reached the kernel (a socket's writes complete in order).
      if (sock.writableLength === 0) start();
      else
        sock.write(EMPTY, (err) => {
          if (err) done(err, 0);
          else if (cancelled) done(errorFor('ECANCELED'), 0);
          else start();
        });
      return {
        cancel: () => {
          cancelled = true;
          if (job !== null) addon.sendfileCancel(job);
        },
      };
    },
  };
}

function errorFor(code: string): Error {
  const message = code === 'ESHORT' ? 'file shrank while being served' : `sendfile failed: ${code}`;
  return Object.assign(new Error(message), { code });
}
