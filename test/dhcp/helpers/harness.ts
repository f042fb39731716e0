/**
 * In-process DHCP harness: the real server (createDhcpServer) and the real SQLite store
 * (':memory:' or a file), with an in-memory socket pair instead of UDP (socketFactory), so
 * handler tests need no root. Test-only.
 */
import { Registry } from 'prom-client';
import type { z } from 'zod';
import { dhcpSchema } from '../../../src/config/sections/dhcp';
import type { DhcpOptionSet } from '../../../src/config/sections/dhcp-options';
import { networkSchema, type NetworkConfig } from '../../../src/config/sections/network';
import { decodePacket, encodePacket, type DhcpPacket } from '../../../src/dhcp/packet';
import { createDhcpServer, type DhcpSocket } from '../../../src/dhcp/server';
import { silentLogger } from '../../../src/log';
import { macToBytes } from '../../../src/model/mac';
import { openSqliteStore } from '../../../src/store/sqlite';
import type { Store } from '../../../src/store/store';

export interface Sent {
  to: { address: string; port: number };
  packet: DhcpPacket;
  bytes: Buffer;
}

export class MemorySocket implements DhcpSocket {
  readonly sent: Sent[] = [];
  private onMsg: ((m: Buffer, r: { address: string; port: number }) => void) | undefined;
  constructor(readonly port: number) {}
  on(event: 'message' | 'error', cb: never): this {
    if (event === 'message') this.onMsg = cb;
    return this;
  }
  bind(_port: number, _address: string, cb: () => void): void {
    queueMicrotask(cb);
  }
  setBroadcast(): void {}
  send(buf: Buffer, port: number, address: string, cb: (err: Error | null) => void): void {
    const d = decodePacket(buf);
    if (!d.ok) throw new Error(`server sent an undecodable reply: ${d.error.message}`);
    this.sent.push({ to: { address, port }, packet: d.packet, bytes: buf });
    cb(null);
  }
  close(cb?: () => void): void {
    cb?.();
  }
  deliver(buf: Buffer, from = { address: '0.0.0.0', port: 68 }): void {
    this.onMsg?.(buf, from);
  }
}

export const NETWORK: NetworkConfig = networkSchema.parse({
  address: '198.18.0.1',
  subnet: '198.18.0.0/24',
  pool: { start: '198.18.0.100', end: '198.18.0.109' },
  gateway: '198.18.0.1',
  dns: ['198.18.0.1'],
  leaseTime: 3600,
});

export interface Harness {
  store: Store;
  sock67: MemorySocket;
  sock4011: MemorySocket | undefined;
  metrics: Registry;
  clock: { t: number };
  /** Deliver a request and wait until the server settles; returns what it sent. */
  ask(req: Buffer, from?: { address: string; port: number }, port?: 67 | 4011): Promise<Sent[]>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: {
    dhcp?: z.input<typeof dhcpSchema>;
    network?: NetworkConfig;
    store?: Store;
    profiles?: Record<string, { dhcpOptions?: DhcpOptionSet }>;
  } = {},
): Promise<Harness> {
  const store = opts.store ?? openSqliteStore(':memory:');
  const dhcp = dhcpSchema.parse({ ...opts.dhcp });
  const metrics = new Registry();
  const clock = { t: Date.UTC(2026, 0, 1) };
  const sockets = new Map<number, MemorySocket>();
  const server = createDhcpServer({
    config: {
      dhcp,
      network: opts.network ?? NETWORK,
      http: { publicUrl: 'http://198.18.0.1:8080' },
      profiles: opts.profiles,
    },
    store,
    log: silentLogger(),
    metrics,
    now: () => clock.t,
    socketFactory: ({ port }) => {
      const s = new MemorySocket(port);
      sockets.set(port, s);
      return s;
    },
  });
  await server.start();
  const sock67 = sockets.get(dhcp.port)!;
  return {
    store,
    sock67,
    sock4011: sockets.get(dhcp.proxyPort),
    metrics,
    clock,
    async ask(req, from, port = 67) {
      const s = port === 67 ? sock67 : sockets.get(dhcp.proxyPort)!;
      const before = s.sent.length;
      s.deliver(req, from);
      // The handler is async (store); let it run to completion.
      for (let i = 0; i < 50; i += 1) await new Promise((r) => setImmediate(r));
      return s.sent.slice(before);
    },
    async stop() {
      await server.stop();
      await store.close();
    },
  };
}

export interface RequestSpec {
  type: number;
  mac: string;
  xid?: number;
  flags?: number;
  ciaddr?: string;
  giaddr?: string;
  hops?: number;
  htype?: number;
  hlen?: number;
  options?: [number, Buffer | string | number[]][];
}

/** A client request as bytes (built with the codec under test's encoder). */
export function request(s: RequestSpec): Buffer {
  const chaddr = Buffer.alloc(16);
  macToBytes(s.mac).copy(chaddr);
  const options = new Map<number, Buffer>([[53, Buffer.from([s.type])]]);
  for (const [code, v] of s.options ?? [])
    options.set(code, typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v));
  const p: DhcpPacket = {
    op: 1,
    htype: s.htype ?? 1,
    hlen: s.hlen ?? 6,
    hops: s.hops ?? 0,
    xid: s.xid ?? 0x1000,
    secs: 0,
    flags: s.flags ?? 0,
    ciaddr: s.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: s.giaddr ?? '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options,
  };
  const e = encodePacket(p, 1500);
  if (!e.ok) throw new Error(e.message);
  return e.bytes;
}

export const ip4 = (ip: string): number[] => ip.split('.').map(Number);
