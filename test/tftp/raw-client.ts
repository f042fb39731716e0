/**
 * @module test/tftp/raw-client
 * A small scriptable TFTP read client for tests: sends crafted RRQs and misbehaves on purpose
 * (every ACK twice, DATA dropped, a stale ACK replayed, never ACKing) to check the server's
 * state machine. Works over a real dgram socket or the fake one. Time-bounded.
 */
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import { decodePacket, encodeAck, encodeRequest } from '../../src/tftp/packet';

export interface UdpLike extends EventEmitter {
  send(msg: Buffer, port: number, address: string): void;
  close(): void;
}

export interface RawGetOptions {
  mode?: string;
  options?: Array<[string, string]>;
  /** Window size the client expects (ACK after this many blocks); default from OACK or 1. */
  windowsize?: number;
  /** Send every ACK twice (Sorcerer's Apprentice trigger). */
  duplicateAcks?: boolean;
  /** Ignore (as if lost) the first arrival of these absolute block numbers. */
  dropBlocksOnce?: number[];
  /** Never ACK anything (stalled or spoofed client). */
  silent?: boolean;
  /** Re-ACK the last good block after this long without DATA (ms). */
  reackMs?: number;
  /** Overall bound (ms). */
  timeoutMs?: number;
}

export interface RawGetResult {
  data: Buffer;
  error: { code: number; message: string } | null;
  oack: Array<[string, string]> | null;
  /** DATA packets received, including duplicates and dropped ones. */
  dataPackets: number;
  /** ACK 0 + one ACK per window (x2 when duplicated). */
  acksSent: number;
  timedOut: boolean;
  /** Server transfer TID (address:port) that answered. */
  tid: string | null;
}

export function rawGet(
  sock: UdpLike,
  host: string,
  port: number,
  file: string,
  o: RawGetOptions = {},
): Promise<RawGetResult> {
  const res: RawGetResult = {
    data: Buffer.alloc(0),
    error: null,
    oack: null,
    dataPackets: 0,
    acksSent: 0,
    timedOut: false,
    tid: null,
  };
  const chunks: Buffer[] = [];
  const drop = new Set(o.dropBlocksOnce ?? []);
  let win = o.windowsize ?? 1;
  let blksize = 512;
  let expected = 1; // absolute
  let sinceAck = 0;
  let peer: { address: string; port: number } | null = null;
  return new Promise((resolve) => {
    let reack: NodeJS.Timeout | null = null;
    const done = (): void => {
      clearTimeout(overall);
      if (reack) clearTimeout(reack);
      sock.removeAllListeners('message');
      res.data = Buffer.concat(chunks);
      resolve(res);
    };
    const overall = setTimeout(() => {
      res.timedOut = true;
      done();
    }, o.timeoutMs ?? 20_000);
    const ack = (n: number): void => {
      if (o.silent || !peer) return;
      const b = encodeAck(n);
      sock.send(b, peer.port, peer.address);
      res.acksSent++;
      if (o.duplicateAcks) {
        sock.send(b, peer.port, peer.address);
        res.acksSent++;
      }
    };
    const arm = (): void => {
      if (!o.reackMs) return;
      if (reack) clearTimeout(reack);
      reack = setTimeout(() => {
        ack(expected - 1);
        arm();
      }, o.reackMs);
    };
    sock.on('message', (msg: Buffer, r: RemoteInfo) => {
      if (!peer) {
        peer = { address: r.address, port: r.port };
        res.tid = `${r.address}:${r.port}`;
      }
      const p = decodePacket(msg);
      if (p.op === 'ERROR') {
        res.error = { code: p.code, message: p.message };
        return done();
      }
      if (p.op === 'OACK') {
        res.oack = p.options;
        for (const [k, v] of p.options) {
          if (k === 'blksize') blksize = Number(v);
          if (k === 'windowsize' && o.windowsize === undefined) win = Number(v);
        }
        ack(0);
        arm();
        return;
      }
      if (p.op !== 'DATA') return;
      res.dataPackets++;
      arm();
      if (p.block !== (expected & 0xffff)) {
        if (win > 1 && ((p.block - expected) & 0xffff) < 0x8000) {
          ack(expected - 1); // RFC 7440 §4: out of order in a window, ACK the last good block
          sinceAck = 0;
        }
        return;
      }
      if (drop.has(expected)) {
        drop.delete(expected);
        return;
      }
      chunks.push(Buffer.from(p.data));
      expected++;
      sinceAck++;
      const last = p.data.length < blksize;
      if (last || sinceAck >= win) {
        ack(expected - 1);
        sinceAck = 0;
      }
      if (last) done();
    });
    sock.send(encodeRequest('RRQ', file, o.mode ?? 'octet', o.options ?? []), port, host);
    arm();
  });
}
