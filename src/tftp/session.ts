/**
 * @module tftp/session
 * One read transfer's state machine, on its own socket (a new TID, RFC 1350 §4) connected to the
 * client's address and port.
 *
 * - Lock-step (RFC 1350) is windowsize 1; with RFC 7440 a window of `windowsize` DATA packets is
 *   sent and the next window starts after the block the client ACKs (§4: a partial ACK means
 *   "resend from ACKed block + 1").
 * - Sorcerer's Apprentice (RFC 1123 §4.2.3.1): an ACK that does not advance (duplicate or stale)
 *   NEVER sends anything. DATA is only (re)sent on a new ACK or when the retransmission timer fires.
 * - Retransmission: one interval timer per session ticking at half the timeout; a tick that sees
 *   no ACK progress since the previous one counts idle time (nothing is done per packet, so the hot
 *   path has no timer work); a timeout fires after 1 to 1.5 timeouts without progress. After
 *   `retries` timeouts in a row the session is freed (idle timeout). The server's default timeout backs
 *   off exponentially up to {@link MAX_BACKOFF_MS} (RFC 1123 §4.2.3.2), so our give-up time
 *   outlasts clients that re-ACK only on their own, slower timer (atftp re-ACKs a repeated block
 *   once, then waits 5 s); a timeout the client negotiated (RFC 2349) is used as is.
 * - Block numbers are absolute internally and wrap to 0 after 65535 on the wire (the tftp-hpa,
 *   curl and atftp convention) for files over 65535 blocks.
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import { TftpErrorCode, decodePacket, encodeError, encodeOack, peekAck, printable } from './packet';
import type { Negotiated } from './options';
import type { BlockSource } from './source';
import type { TftpClient } from './types';

export interface SessionResult {
  ok: boolean;
  /** Failure reason key (metrics label): timeout | client_error | content | socket | aborted. */
  reason: string | null;
  message: string;
  bytes: number;
  blocks: number;
  retransmits: number;
  duplicateAcks: number;
  ignored: number;
  durationMs: number;
}

export interface SessionOptions {
  socket: Socket;
  client: TftpClient;
  source: BlockSource;
  negotiated: Negotiated;
  /** Default retransmission timeout (ms) when the client did not negotiate `timeout`. */
  timeoutMs: number;
  retries: number;
  onEnd: (r: SessionResult) => void;
}

const enum State {
  Oack,
  Data,
  Done,
}

/** Upper bound of the backed-off retransmission timeout. */
export const MAX_BACKOFF_MS = 8000;

export class Session {
  private state: State = State.Oack;
  /** Highest absolute block the client has ACKed. */
  private acked = 0;
  /** Highest absolute block sent in the current window. */
  private sent = 0;
  private tries = 0;
  private retransmits = 0;
  private duplicateAcks = 0;
  private ignored = 0;
  private bytes = 0;
  private resending = 0;
  /** Highest block sent before the last rewind: partial ACKs below it do not rewind again. */
  private recoverUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Base retransmission timeout and the current (backed-off) one. */
  private readonly baseMs: number;
  private curMs: number;
  private readonly tickMs: number;
  /** ACK progress counter and its value at the last tick. */
  private progress = 0;
  private seen = 0;
  private idleMs = 0;
  private readonly started = Date.now();
  private readonly oack: Buffer | null;
  private readonly window: number;

  constructor(private readonly o: SessionOptions) {
    this.oack = o.negotiated.oack ? encodeOack(o.negotiated.oack) : null;
    this.window = o.negotiated.windowsize;
    o.source.onChange = () => this.onSourceChange();
    this.baseMs = o.negotiated.timeoutMs ?? o.timeoutMs;
    this.curMs = this.baseMs;
    this.tickMs = Math.max(10, Math.floor(this.baseMs / 2));
  }

  /** Sends the OACK, or DATA 1 when no option was accepted. */
  start(): void {
    this.timer = setInterval(() => this.onTick(), this.tickMs);
    this.o.socket.on('message', (m: Buffer, r: RemoteInfo) => this.onMessage(m, r));
    this.o.socket.on('error', (e: NodeJS.ErrnoException) => this.onSocketError(e));
    if (this.oack) {
      this.send(this.oack);
    } else {
      this.state = State.Data;
      this.sendWindow();
    }
  }

  /**
   * ICMP port unreachable (ECONNREFUSED on a connected socket) means the client is gone. Send
   * errors such as EPERM (a firewall drop on output) or ENOBUFS are transient: the retransmission
   * timer covers them.
   */
  private onSocketError(e: NodeJS.ErrnoException): void {
    if (e.code === 'ECONNREFUSED' || e.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') this.finish(false, 'socket', e.message);
  }

  /** Server shutdown or eviction. */
  abort(message: string): void {
    if (this.state === State.Done) return;
    this.send(encodeError(TftpErrorCode.NOT_DEFINED, message));
    this.finish(false, 'aborted', message);
  }

  private onMessage(msg: Buffer, r: RemoteInfo): void {
    if (this.state === State.Done) return;
    // The socket is connected, so the kernel already drops other TIDs; a fake socket may not.
    if (r.port !== this.o.client.port || r.address !== this.o.client.address) {
      this.ignored++;
      return;
    }
    const ack = peekAck(msg);
    if (ack >= 0) return this.onAck(ack);
    const p = decodePacket(msg);
    if (p.op === 'ERROR') {
      return this.finish(false, 'client_error', `client sent ERROR ${p.code}: ${printable(p.message, 100)}`);
    }
    this.ignored++; // DATA, requests, OACK or junk on a read transfer: ignored (reliability T04)
  }

  private onAck(wire: number): void {
    if (this.state === State.Oack) {
      if (wire !== 0) {
        this.ignored++;
        return;
      }
      this.state = State.Data;
      this.tries = 0;
      this.progress++;
      this.sendWindow();
      return;
    }
    // Map the 16-bit number onto (acked, sent]; anything else is a duplicate or stale ACK.
    const delta = (wire - this.acked) & 0xffff;
    const abs = this.acked + delta;
    if (delta === 0 || abs > this.sent) {
      this.duplicateAcks++;
      return; // RFC 1123 §4.2.3.1: never resend on a duplicate ACK
    }
    this.acked = abs;
    this.tries = 0;
    this.progress++;
    this.o.source.release(abs);
    if (abs === this.o.source.lastBlock()) {
      this.finish(true, null, 'transfer complete');
      return;
    }
    // RFC 7440 §4: after a partial ACK the sender resends from the ACKed block + 1. Only once per
    // flight (a recovery point, as TCP NewReno): ACKs up to the highest block sent before that
    // resend only slide the window, because duplicated or resent DATA makes clients (atftp) send
    // "extra" ACKs for blocks inside it, and rewinding on each of them would cascade.
    if (abs < this.sent && abs >= this.recoverUntil) {
      this.recoverUntil = this.sent;
      if (this.resending < this.sent) this.resending = this.sent;
      this.sent = abs;
    }
    this.sendWindow();
  }

  /** Sends blocks acked+1 .. acked+window that are not yet sent and are available. */
  private sendWindow(): void {
    const src = this.o.source;
    if (src.error) return this.contentFailed(src.error);
    const last = src.lastBlock();
    let limit = this.acked + this.window;
    if (last >= 0 && limit > last) limit = last;
    const sock = this.o.socket;
    let n = this.sent + 1;
    for (; n <= limit; n++) {
      if (!src.available(n)) break;
      const pkt = src.packet(n);
      sock.send(pkt);
      if (n <= this.resending) this.retransmits++;
      else this.bytes += pkt.length - 4;
    }
    if (n - 1 > this.sent) this.sent = n - 1;
  }

  private onSourceChange(): void {
    if (this.state !== State.Data) return;
    if (this.o.source.error) return this.contentFailed(this.o.source.error);
    if (this.sent < this.acked + this.window) this.sendWindow();
  }

  private contentFailed(e: Error): void {
    this.send(encodeError(TftpErrorCode.NOT_DEFINED, 'read error'));
    this.finish(false, 'content', e.message);
  }

  private onTimeout(): void {
    if (this.state === State.Done) return;
    this.tries++;
    if (this.tries > this.o.retries) {
      this.send(encodeError(TftpErrorCode.NOT_DEFINED, 'timeout'));
      this.finish(false, 'timeout', `no ACK after ${this.o.retries} retransmissions`);
      return;
    }
    // Back off (RFC 1123 §4.2.3.2) unless the client chose the timeout.
    if (this.o.negotiated.timeoutMs === undefined)
      this.curMs = Math.min(this.curMs * 2, Math.max(MAX_BACKOFF_MS, this.baseMs));
    if (this.state === State.Oack) {
      this.retransmits++;
      this.send(this.oack!);
      return;
    }
    // Resend the unacknowledged part of the window (RFC 7440 §4; RFC 1350 lock-step when 1).
    this.resending = Math.max(this.resending, this.sent);
    this.recoverUntil = Math.max(this.recoverUntil, this.sent);
    this.sent = this.acked;
    this.sendWindow();
  }

  /** Interval tick: progress since the last tick resets the idle time, else it grows. */
  private onTick(): void {
    if (this.progress !== this.seen) {
      this.seen = this.progress;
      this.idleMs = 0;
      this.curMs = this.baseMs;
      return;
    }
    this.idleMs += this.tickMs;
    if (this.idleMs >= this.curMs) {
      this.idleMs = 0;
      this.onTimeout();
    }
  }

  private send(buf: Buffer): void {
    try {
      this.o.socket.send(buf);
    } catch {
      /* socket already closed */
    }
  }

  private finish(ok: boolean, reason: string | null, message: string): void {
    if (this.state === State.Done) return;
    this.state = State.Done;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.o.source.destroy();
    try {
      this.o.socket.close();
    } catch {
      /* already closed */
    }
    this.o.onEnd({
      ok,
      reason,
      message,
      bytes: this.bytes,
      blocks: this.acked,
      retransmits: this.retransmits,
      duplicateAcks: this.duplicateAcks,
      ignored: this.ignored,
      durationMs: Date.now() - this.started,
    });
  }
}
