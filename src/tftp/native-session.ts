/**
 * @module tftp/native-session
 * A read transfer whose data phase runs in the native addon (native/tftp.c) on its own thread
 * and its own socket, as tftpd-hpa runs a process per transfer. Node's per-datagram cost (one
 * `message` event and one `send` per block, ~25 µs) caps lock-step TFTP below tftpd-hpa; the
 * thread makes two system calls per block (a blocking recv with a timeout, and a send). Same protocol rules as ./session.ts
 * (the reference): RFC 1350 lock-step, RFC 7440 windows, no resend on a duplicate ACK
 * (RFC 1123 §4.2.3.1), timeouts with back-off, 16-bit block number wrap.
 *
 * Used for plain files in octet mode when the addon is loaded (see {@link nativeEligible});
 * netascii, in-memory buffers and streams stay on the JavaScript session. The FileHandle stays
 * open (and owned here) until the thread has ended, then it is closed.
 */
import type { FileHandle } from 'node:fs/promises';
import type { NativeTftp, NativeTftpHandle, NativeTftpResult } from '../native/tftp-types';
import type { Negotiated } from './options';
import { encodeOack, printable } from './packet';
import type { SessionResult } from './session';
import type { TftpClient, TftpContent } from './types';

export interface NativeSessionOptions {
  binding: NativeTftp;
  client: TftpClient;
  file: FileHandle;
  size: number;
  negotiated: Negotiated;
  timeoutMs: number;
  retries: number;
  onEnd: (r: SessionResult, timeouts: number) => void;
}

/** Whether a transfer can run natively: a plain file in octet mode, on real sockets. */
export function nativeEligible(content: TftpContent, mode: string): content is { size: number; file: FileHandle } {
  return mode === 'octet' && 'file' in content;
}

export class NativeSession {
  /** Resolves once the thread has ended and `onEnd` ran. */
  readonly ended: Promise<void>;
  private handle: NativeTftpHandle | null = null;
  private done = false;
  private resolveEnded!: () => void;

  constructor(private readonly o: NativeSessionOptions) {
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  /** Opens the transfer socket and starts the thread; throws (socket errors) without starting. */
  start(): void {
    const { negotiated: n, client } = this.o;
    this.handle = this.o.binding.tftpStart(
      {
        fd: this.o.file.fd,
        size: this.o.size,
        blksize: n.blksize,
        windowsize: n.windowsize,
        timeoutMs: n.timeoutMs ?? this.o.timeoutMs,
        backoff: n.timeoutMs === undefined,
        retries: this.o.retries,
        localAddress: client.localAddress,
        clientAddress: client.address,
        clientPort: client.port,
        ...(n.oack ? { first: encodeOack(n.oack) } : {}),
      },
      (r) => this.onNativeEnd(r),
    );
  }

  /** The transfer's local port (its TID), or 0 before start. */
  port(): number {
    return this.handle?.port ?? 0;
  }

  /** Server shutdown or eviction: the thread wakes at once, sends ERROR 0 `message` and ends. */
  abort(message: string): void {
    if (this.done || !this.handle) return;
    this.o.binding.tftpCancel(this.handle, printable(message, 200));
  }

  private onNativeEnd(r: NativeTftpResult): void {
    if (this.done) return;
    this.done = true;
    void this.o.file.close().catch(() => undefined);
    const message =
      r.reason === 'client_error'
        ? `client sent ERROR ${r.clientErrorCode ?? 0}: ${printable(r.clientErrorMessage ?? '', 100)}`
        : r.message;
    try {
      this.o.onEnd(
        {
          ok: r.ok,
          reason: r.reason,
          message,
          bytes: r.bytes,
          blocks: r.blocks,
          retransmits: r.retransmits,
          duplicateAcks: r.duplicateAcks,
          ignored: r.ignored,
          durationMs: Math.round(r.durationMs),
        },
        r.timeouts,
      );
    } finally {
      this.resolveEnded();
    }
  }
}
