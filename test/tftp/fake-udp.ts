/**
 * @module test/tftp/fake-udp
 * TEST DOUBLE: an in-process fake UDP network whose sockets look like `dgram.Socket` to the TFTP
 * server (bind, connect, send, close, address, 'message'/'error' events). Used through the
 * server's `socketFactory` so the session state machine runs without root or real sockets.
 * `net.filter` sees every datagram and may drop or duplicate it (loss and duplication tests).
 * Connected sockets drop datagrams from other peers, as the kernel does.
 */
import { EventEmitter } from 'node:events';
import type { RemoteInfo, Socket } from 'node:dgram';

export type Verdict = 'pass' | 'drop' | 'dup';
export interface Datagram {
  from: string;
  to: string;
  data: Buffer;
}

export class FakeUdpNet {
  private readonly sockets = new Map<string, FakeUdpSocket>();
  private nextPort = 40000;
  filter: (d: Datagram) => Verdict = () => 'pass';
  /** Every datagram sent (after the filter's verdict), for counting. */
  readonly log: Array<Datagram & { verdict: Verdict }> = [];

  socket(): FakeUdpSocket {
    return new FakeUdpSocket(this);
  }
  /** The factory handed to createTftpServer. */
  factory = (): Socket => this.socket() as unknown as Socket;

  register(s: FakeUdpSocket, address: string, port: number): number {
    const p = port === 0 ? this.nextPort++ : port;
    const key = `${address}:${p}`;
    if (this.sockets.has(key)) throw Object.assign(new Error(`EADDRINUSE ${key}`), { code: 'EADDRINUSE' });
    this.sockets.set(key, s);
    return p;
  }
  unregister(key: string): void {
    this.sockets.delete(key);
  }
  /** Number of bound sockets (listeners + live transfers + clients). */
  get open(): number {
    return this.sockets.size;
  }

  deliver(from: string, to: string, data: Buffer): void {
    const verdict = this.filter({ from, to, data });
    this.log.push({ from, to, data, verdict });
    if (verdict === 'drop') return;
    const copies = verdict === 'dup' ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      setImmediate(() => {
        const target = this.sockets.get(to) ?? this.sockets.get(`0.0.0.0:${to.split(':')[1]}`);
        target?.receive(from, data);
      });
    }
  }
}

export class FakeUdpSocket extends EventEmitter {
  private bound: { address: string; port: number } | null = null;
  private peer: string | null = null;
  private closed = false;

  constructor(private readonly net: FakeUdpNet) {
    super();
  }

  bind(opts: { port?: number; address?: string } | number, a?: unknown, b?: unknown): this {
    const o = typeof opts === 'number' ? { port: opts, address: typeof a === 'string' ? a : '0.0.0.0' } : opts;
    const cb = [a, b].find((x) => typeof x === 'function') as (() => void) | undefined;
    const address = o.address ?? '0.0.0.0';
    const port = this.net.register(this, address, o.port ?? 0);
    this.bound = { address, port };
    setImmediate(() => {
      this.emit('listening');
      cb?.();
    });
    return this;
  }

  connect(port: number, address: string, cb?: () => void): void {
    this.peer = `${address}:${port}`;
    setImmediate(() => {
      this.emit('connect');
      cb?.();
    });
  }

  address(): { address: string; port: number; family: string } {
    if (!this.bound) throw new Error('not bound');
    return { ...this.bound, family: 'IPv4' };
  }

  send(msg: Buffer | Buffer[], port?: number | (() => void), address?: string): void {
    if (this.closed) throw Object.assign(new Error('Not running'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    if (!this.bound) this.bind(0);
    const data = Buffer.concat(Array.isArray(msg) ? msg : [msg]);
    const to = typeof port === 'number' ? `${address}:${port}` : this.peer;
    if (!to) throw new Error('no destination');
    this.net.deliver(`${this.bound!.address}:${this.bound!.port}`, to, data);
  }

  receive(from: string, data: Buffer): void {
    if (this.closed) return;
    if (this.peer !== null && this.peer !== from) return; // connected: other TIDs dropped
    const i = from.lastIndexOf(':');
    const rinfo: RemoteInfo = {
      address: from.slice(0, i),
      port: Number(from.slice(i + 1)),
      family: 'IPv4',
      size: data.length,
    };
    this.emit('message', data, rinfo);
  }

  close(cb?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    if (this.bound) this.net.unregister(`${this.bound.address}:${this.bound.port}`);
    setImmediate(() => {
      this.emit('close');
      cb?.();
    });
  }

  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
}
