/**
 * @module dhcp/warmup
 * JIT warm-up of the DHCP server, run just before the real server opens its sockets.
 *
 * Why: a freshly started Node process runs the per-datagram path in V8's interpreter until
 * the hot functions have been compiled, which takes a few thousand packets and, on a busy
 * core, a third of a second of background compilation. Measured on the bench VM
 * (bench/RESULTS.md, DHCP): at 3,000–5,000 DORA/s a cold daemon fell behind for its first
 * ~600 ms, its receive buffer filled (over 1 MiB) and the backlog took as long again to drain;
 * that first second was the whole of its average latency and every one of its drops, and
 * after one second of real traffic the same daemon kept its queue at a few packets. A daemon
 * restarted into a boot storm (a rack powered on after an outage) meets exactly that path.
 *
 * How: a SCRATCH server — the same `createDhcpServer` code, so the same closures and feedback
 * — over a scratch store the caller provides (the daemon passes an in-memory SQLite store:
 * the same store classes, none of the real rows), a private metrics registry and a silent
 * logger, with synthetic registered hosts (armed, not armed, with a reservation) and unknown
 * clients. Its sockets are real `dgram` sockets bound to 127.0.0.1 on ephemeral ports, so
 * requests arrive as the kernel delivers them (V8 gives socket-made Buffers another hidden
 * class than Buffers made in JavaScript: code warmed on the latter was deoptimised by the
 * first real packet, seen with --trace-deopt) and replies leave through `dgram` send. Every
 * reply is redirected to the loopback client, whatever destination the server chose: nothing
 * leaves this host, nothing touches the real store, timeline or metrics.
 *
 * Two rounds, each over a fresh scratch store and server. Closing the first round's sockets
 * and store widens the field types V8 had recorded for those objects (a socket handle that
 * becomes null, a store flagged closed), which deoptimised code compiled against them; the
 * second round compiles against the widened shapes, and closing it changes nothing more.
 * Measured (bench/RESULTS.md): with one round the first second at 5,000 DORA/s still overflowed
 * the receive buffer; with two, the queue stayed under 0.4 MiB and nothing was dropped.
 *
 * Bounded in exchanges and in time per round; the daemon's start-up waits for it.
 */
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import type { DhcpConfig } from '../config/sections/dhcp';
import type { NetworkConfig } from '../config/sections/network';
import { silentLogger } from '../log';
import { intToIp } from '../model/ipv4';
import type { Store } from '../store/store';
import { BOOTREQUEST, MessageType, Opt } from './constants';
import { getU8, ipToBytes } from './options';
import { decodePacket, encodePacket, hexPairs, type DhcpPacket } from './packet';
import { buildScope } from './scope';
import { createDhcpServer, type DhcpSocket, type SocketFactory } from './server';

export interface WarmupBudget {
  /** DORA exchanges at most. */
  exchanges: number;
  /** Wall-clock milliseconds at most. */
  ms: number;
}

/** Per round: ~0.9–1.3 s on the (pinned, shared) bench VM core. */
export const DEFAULT_WARMUP: WarmupBudget = { exchanges: 4000, ms: 1500 };
export const WARMUP_ROUNDS = 2;

export interface WarmupResult {
  /** Exchanges that ended in an ACK. */
  exchanges: number;
  /** Requests sent. */
  requests: number;
  ms: number;
}

const RENEW_BIT = 0x40000000;
/** No answer for this long ends a round's wait: the rest of the round is silence. */
const QUIET_MS = 2;
/**
 * Synthetic clients 0..REGISTERED-1 are registered hosts; of every CYCLE requests the first
 * REGISTERED come from them (after the first cycle: reboots that find their binding) and the
 * rest from new unknown MACs. So with the default `unknownHosts: ignore`, half the requests
 * still run the whole exchange.
 */
const REGISTERED = 256;
const CYCLE = 512;

/** Client kinds the path branches on: RFC 4578 arch 0/7/11, UEFI HTTP boot, iPXE, plain. */
const CLIENTS: Array<[number, Buffer][]> = [
  [
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003016')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 7])],
    [Opt.CLIENT_NDI, Buffer.from([1, 3, 1])],
  ],
  [
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00000:UNDI:002001')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 0])],
    [Opt.CLIENT_NDI, Buffer.from([1, 2, 1])],
  ],
  [
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00011:UNDI:003000')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 11])],
  ],
  [
    [Opt.VENDOR_CLASS, Buffer.from('HTTPClient:Arch:00016:UNDI:003001')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 16])],
  ],
  [
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003016')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 7])],
    [Opt.USER_CLASS, Buffer.from('iPXE')],
  ],
  [
    [Opt.PARAM_REQUEST_LIST, Buffer.from([1, 3, 6, 12, 15, 28, 51, 54, 58, 59])],
    [Opt.HOSTNAME, Buffer.from('warm')],
  ],
];

/** Client `i`'s MAC: locally administered (02:…, IEEE 802 §8.2.2), never a vendor-assigned NIC. */
function macOf(i: number): Buffer {
  const chaddr = Buffer.alloc(16);
  chaddr.writeUInt16BE(0x02ff, 0);
  chaddr.writeUInt32BE(i >>> 0, 2);
  return chaddr;
}

/**
 * Client `i`'s request; its xid is `i`, or `i` with bit 30 set for a renewal. Odd clients send
 * a client identifier (option 61, type 1 + MAC, as dhclient, udhcpc and networkd do); relayed
 * requests carry a relay agent circuit id (option 82, RFC 3046).
 */
function request(
  type: number,
  i: number,
  giaddr: string,
  ciaddr: string,
  extra: [number, Buffer][],
  renew = false,
): Buffer {
  const chaddr = macOf(i);
  const options = new Map<number, Buffer>([[Opt.MESSAGE_TYPE, Buffer.from([type])], ...extra]);
  if (i % 2 === 1) options.set(Opt.CLIENT_ID, Buffer.concat([Buffer.from([1]), chaddr.subarray(0, 6)]));
  if (giaddr !== '0.0.0.0' && i % 3 === 0)
    options.set(Opt.RELAY_AGENT_INFO, Buffer.from([1, 4, 0x65, 0x74, 0x68, 0x30])); // circuit id "eth0"
  const p: DhcpPacket = {
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: giaddr === '0.0.0.0' ? 0 : 1,
    xid: renew ? (i | RENEW_BIT) >>> 0 : i,
    secs: 0,
    flags: 0,
    ciaddr,
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr,
    chaddr,
    sname: '',
    file: '',
    options,
  };
  const e = encodePacket(p, 1500);
  if (!e.ok) throw new Error(`warm-up request: ${e.message}`);
  return e.bytes;
}

/**
 * Resolves when `answered()` reaches `target`, when no new answer came for `quietMs` (the
 * server stays silent for ignored clients and an exhausted pool, and a loopback datagram can be
 * lost), or after `maxMs`; polls on the event loop.
 */
function settle(answered: () => number, target: number, quietMs: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    let last = answered();
    let lastAt = start;
    const tick = (): void => {
      const now = performance.now();
      const n = answered();
      if (n !== last) {
        last = n;
        lastAt = now;
      }
      if (n >= target || now - lastAt >= quietMs || now - start >= maxMs) resolve();
      else setImmediate(tick);
    };
    tick();
  });
}

/** Closes `s`; resolves at once if it is already closed or was never bound. */
const closeQuietly = (s: Socket): Promise<void> =>
  new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });

const bindLoopback = (s: Socket): Promise<number> =>
  new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s.address().port);
    });
  });

/**
 * Sockets for the scratch server: real dgram sockets on 127.0.0.1 (ephemeral ports, whatever
 * port and address the server asks for) whose every send goes to the loopback `client`.
 * `ports` maps the port the server asked for to the loopback port it got (first socket wins).
 */
function loopbackFactory(
  clientPort: () => number,
  ports: Map<number, number>,
): { factory: SocketFactory; opened: Socket[] } {
  const opened: Socket[] = [];
  const factory: SocketFactory = ({ port }) => {
    const s = createSocket('udp4');
    opened.push(s);
    const sock: DhcpSocket = {
      on: (event: 'message' | 'error', cb: never) => s.on(event, cb),
      bind: (_port, _address, cb) =>
        bindLoopback(s).then(
          (p) => {
            if (!ports.has(port)) ports.set(port, p);
            cb();
          },
          (err: unknown) => s.emit('error', err),
        ),
      setBroadcast: () => undefined,
      send: (buf, _port, _address, cb) => s.send(buf, clientPort(), '127.0.0.1', cb),
      close: (cb) => s.close(cb),
    };
    return sock;
  };
  return { factory, opened };
}

type ServerConfig = { dhcp: DhcpConfig; network: NetworkConfig; http: { publicUrl: string } };

/**
 * Warms the DHCP server's code up: {@link WARMUP_ROUNDS} rounds, each with a scratch server
 * over `scratchStore()` (an empty store of the real store's kind, closed after its round).
 * Resolves with the totals; a lost loopback datagram just ends that exchange.
 */
export async function warmUpDhcp(
  config: ServerConfig,
  scratchStore: () => Store,
  budget: WarmupBudget = DEFAULT_WARMUP,
): Promise<WarmupResult> {
  const total: WarmupResult = { exchanges: 0, requests: 0, ms: 0 };
  for (let r = 0; r < WARMUP_ROUNDS; r += 1) {
    const w = await round(config, scratchStore(), budget);
    total.exchanges += w.exchanges;
    total.requests += w.requests;
    total.ms += w.ms;
  }
  return total;
}

async function round(config: ServerConfig, scratch: Store, budget: WarmupBudget): Promise<WarmupResult> {
  const t0 = performance.now();
  const { dhcp } = config;
  const client = createSocket('udp4');
  const ports = new Map<number, number>();
  let clientPort = 0;
  const { factory, opened } = loopbackFactory(() => clientPort, ports);
  const server = createDhcpServer({
    config,
    store: scratch,
    log: silentLogger(),
    metrics: new Registry(),
    socketFactory: factory,
  });
  let sent = 0;
  let answered = 0; // replies received (the server stays silent for some requests)
  let exchanges = 0;
  try {
    clientPort = await bindLoopback(client);
    const direct = buildScope(config.network, true);
    // Registered hosts: every other one armed for install, every third with a reservation
    // (the top of the direct pool), so the boot decision and reservation paths run too.
    for (let i = 0; i < REGISTERED; i += 1) {
      const mac = hexPairs(macOf(i), 6); // the form the server looks hosts up by
      const ipv4 = i % 3 === 0 && direct.poolEnd - i >= direct.poolStart ? intToIp(direct.poolEnd - i) : null;
      await scratch.hosts.create({
        name: `warmup-${i}`,
        macs: [mac],
        profile: 'warmup',
        role: 'worker',
        ipv4,
        netboot: i % 2 === 0,
        state: i % 2 === 0 ? 'armed' : 'registered',
      });
    }
    await server.start();
    const mainPort = ports.get(dhcp.port)!;
    const pxePort = ports.get(dhcp.proxyPort) ?? mainPort;
    const proxy = dhcp.mode === 'proxy';
    // giaddrs that select each scope through a relay (RFC 2131 §4.3.1; the direct segment can
    // have relays too), honouring dhcp.trustedRelays.
    const relays =
      dhcp.trustedRelays.length > 0
        ? dhcp.trustedRelays
        : [config.network, ...dhcp.relayed].map((s) => s.gateway ?? intToIp(buildScope(s, false).networkInt + 1));
    const links = ['0.0.0.0', ...relays];
    const sid: [number, Buffer] = [Opt.SERVER_ID, ipToBytes(config.network.address)];
    const send = (b: Buffer, port: number): void => {
      sent += 1;
      client.send(b, port, '127.0.0.1');
    };
    client.on('message', (reply) => {
      answered += 1;
      const d = decodePacket(reply);
      if (!d.ok) return;
      const type = getU8(d.packet.options, Opt.MESSAGE_TYPE);
      const xid = d.packet.xid;
      if ((xid & RENEW_BIT) !== 0) return; // a renewal's answer ends that client
      const i = xid; // client number
      const extra = CLIENTS[i % CLIENTS.length]!;
      const giaddr = links[i % links.length]!;
      const yiaddr = d.packet.yiaddr;
      if (type === MessageType.OFFER) {
        const req = proxy
          ? request(MessageType.REQUEST, i, '0.0.0.0', '0.0.0.0', extra)
          : request(MessageType.REQUEST, i, giaddr, '0.0.0.0', [sid, [Opt.REQUESTED_IP, ipToBytes(yiaddr)], ...extra]);
        send(req, proxy ? pxePort : mainPort);
      } else if (type === MessageType.ACK) {
        exchanges += 1;
        // Every fourth client renews (RFC 2131 §4.3.2 RENEWING: ciaddr set, no option 50/54).
        if (!proxy && i % 4 === 0 && yiaddr !== '0.0.0.0')
          send(request(MessageType.REQUEST, i, giaddr, yiaddr, extra, true), mainPort);
      }
    });
    const ROUND = 32; // exchanges in flight: well within loopback socket buffers
    let next = 0;
    while (next < budget.exchanges && performance.now() - t0 < budget.ms) {
      const n = Math.min(ROUND, budget.exchanges - next);
      for (let k = 0; k < n; k += 1, next += 1) {
        const i = next % CYCLE < REGISTERED ? next % CYCLE : next;
        send(
          request(MessageType.DISCOVER, i, links[i % links.length]!, '0.0.0.0', CLIENTS[i % CLIENTS.length]!),
          mainPort,
        );
      }
      // Next round once the round's requests were answered, or the server fell quiet.
      await settle(() => answered, sent, QUIET_MS, 20);
    }
    return { exchanges, requests: sent, ms: Math.round(performance.now() - t0) };
  } finally {
    await server.stop().catch(() => undefined);
    // server.stop() closed the sockets it had opened; these catch a start that failed midway.
    await Promise.all([...opened, client].map(closeQuietly));
    await scratch.close().catch(() => undefined);
  }
}
