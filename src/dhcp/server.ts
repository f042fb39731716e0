/**
 * @module dhcp/server
 * The DHCP service: UDP sockets on 0.0.0.0:67 (and 4011 in proxy mode), one handler call per
 * datagram, metrics. Node has no IP_PKTINFO/SO_BINDTODEVICE, so a daemon serves ONE directly
 * attached segment (config `network`) plus any number of relayed subnets (`dhcp.relayed`).
 * Malformed or unexpected packets are dropped, counted and logged at debug; only a socket
 * failure is fatal.
 */
import { createSocket } from 'node:dgram';
import type { Registry } from 'prom-client';
import type { DhcpConfig } from '../config/sections/dhcp';
import type { NetworkConfig } from '../config/sections/network';
import type { DhcpOptionSet } from '../config/sections/dhcp-options';
import type { Logger } from '../log';
import { DiscoveredMacs } from '../model/discovered-macs';
import type { NewEvent } from '../model/event';
import { ipToInt } from '../model/ipv4';
import type { Store } from '../store/store';
import { CLIENT_PORT, SERVER_PORT } from './constants';
import type { HandlerConfig, HandlerContext } from './context';
import { processDatagram, type Processed } from './handler';
import { LeaseBook } from './leases';
import { makeDhcpMetrics } from './metrics';
import { isStoreUnavailable, StoreOutage } from './store-outage';
import { compileLevels } from './option-sets';
import { ipToBytes } from './options';
import type { RouteContext } from './reply-route';
import { buildScope } from './scope';

/** The part of `dgram.Socket` the server uses (tests pass an in-memory pair). */
export interface DhcpSocket {
  on(event: 'message', cb: (msg: Buffer, rinfo: { address: string; port: number }) => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  bind(port: number, address: string, cb: () => void): unknown;
  setBroadcast(flag: boolean): void;
  send(buf: Buffer, port: number, address: string, cb: (err: Error | null) => void): void;
  close(cb?: () => void): void;
}

export type SocketFactory = (opts: { port: number; address: string }) => DhcpSocket;

export interface DhcpServerDeps {
  /** `profiles` (optional): profile-level DHCP options, and which profiles boot the GRUB chain (`loader: grub`). */
  config: {
    dhcp: DhcpConfig;
    network: NetworkConfig;
    http: { publicUrl: string };
    profiles?: Readonly<Record<string, { dhcpOptions?: DhcpOptionSet; loader?: 'ipxe' | 'grub' }>>;
  };
  store: Store;
  log: Logger;
  metrics: Registry;
  socketFactory?: SocketFactory;
  now?: () => number;
  /** Several daemons share the store: this daemon's name, where it starts each pool scan (dhcp/leases.ts). */
  poolSeed?: string;
}

const defaultFactory: SocketFactory = () =>
  // 1 MiB kernel buffers absorb bursts (boot storms, a commit stall) without queueing
  // seconds of stale requests when overloaded (clients retransmit after ~1 s anyway).
  createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });

/**
 * dhcp.reserveOffers as it applies: the configured value, else on when the store is shared by
 * several daemons (PostgreSQL; docs/scale-out.md "Offers").
 */
export function reservesOffers(configured: boolean | null | undefined, sharedStore: boolean): boolean {
  return configured ?? sharedStore;
}

/**
 * The fixed part of a server's handler context: scopes, policy and option 54, from the config.
 * `storeKind`: the store's kind, which decides dhcp.reserveOffers when the config leaves it unset.
 */
function createHandlerConfig(config: DhcpServerDeps['config'], storeKind: string): HandlerConfig {
  const { dhcp, network, http, profiles = {} } = config;
  return {
    mode: dhcp.mode === 'proxy' ? 'proxy' : 'authoritative',
    serverId: network.address,
    serverIdInt: ipToInt(network.address),
    serverIdBytes: ipToBytes(network.address),
    scopes: [buildScope(network, true, dhcp.options), ...dhcp.relayed.map((s) => buildScope(s, false, dhcp.options))],
    trustedRelays: new Set(dhcp.trustedRelays),
    dhcp,
    reserveOffers: reservesOffers(dhcp.reserveOffers, storeKind === 'postgresql'),
    policy: {
      loaders: dhcp.loaders,
      nextServer: network.address,
      publicUrl: http.publicUrl,
      httpBootPath: dhcp.httpBootPath,
      unknownHosts: dhcp.unknownHosts,
      grubLoaders: dhcp.grubLoaders,
      grubProfiles: new Set(Object.keys(profiles).filter((n) => profiles[n]!.loader === 'grub')),
    },
    optionLevels: compileLevels(config.profiles ?? {}, dhcp.hostOptions ?? {}),
  };
}

/**
 * The handler context of a server: its config, lease book, the store's host index, an event
 * sink that appends without delaying replies (`track` receives each pending append) and fresh
 * rate-limit state.
 */
export function createHandlerContext(
  deps: Pick<DhcpServerDeps, 'config' | 'store' | 'poolSeed'> & { log: Logger; now: () => number },
  track: (p: Promise<unknown>) => void = () => undefined,
  outage?: StoreOutage,
): HandlerContext {
  const log = deps.log;
  const emit = (e: NewEvent): void => {
    track(
      deps.store.events.append(e).then(
        () => undefined,
        (err: unknown) =>
          outage !== undefined && isStoreUnavailable(err)
            ? outage.failed(err, 'event')
            : log.error({ err, kind: e.kind }, 'dhcp event append failed'),
      ),
    );
  };
  return {
    config: createHandlerConfig(deps.config, deps.store.kind),
    state: { discovered: new DiscoveredMacs(), warned: new Map(), declines: new Map() },
    book: new LeaseBook(deps.store.leases, deps.now, deps.poolSeed),
    hosts: deps.store.hostLookup,
    emit,
    now: deps.now,
    log,
  };
}

export function createDhcpServer(deps: DhcpServerDeps): { start(): Promise<void>; stop(): Promise<void> } {
  const { dhcp } = deps.config;
  const log = deps.log.child({ component: 'dhcp' });
  const now = deps.now ?? Date.now;
  const factory = deps.socketFactory ?? defaultFactory;
  const m = makeDhcpMetrics(deps.metrics);
  const pending = new Set<Promise<unknown>>();
  const track = (pr: Promise<unknown>): void => {
    pending.add(pr);
    const done = (): void => void pending.delete(pr);
    pr.then(done, done);
  };
  const outage = new StoreOutage(deps.metrics, log, now);
  const ctx = createHandlerContext({ ...deps, log, now }, track, outage);
  // Datagrams being handled: a count, not a set of promises (one less promise per packet).
  let inflight = 0;
  let drained: (() => void) | undefined;
  const settled = (): void => {
    inflight -= 1;
    if (inflight === 0 && drained !== undefined) drained();
  };
  const book = ctx.book;
  const direct = ctx.config.scopes[0]!;
  const sockets: DhcpSocket[] = [];
  /** Bound to network.address: can send 255.255.255.255 without a default route. */
  let bcast: DhcpSocket | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  // Replies to clients go to port+1 (68 for 67), as Kea and dnsmasq do when moved for tests.
  const clientPort = dhcp.port === SERVER_PORT ? CLIENT_PORT : dhcp.port + 1;

  function onMessage(
    sock: DhcpSocket,
    viaPxePort: boolean,
    msg: Buffer,
    rinfo: { address: string; port: number },
  ): void {
    const route: RouteContext = {
      broadcast: direct.subnet.broadcast,
      serverPort: dhcp.port,
      clientPort,
      from: rinfo,
      viaPxePort,
    };
    inflight += 1;
    processDatagram(ctx, msg, route).then(
      (r) => {
        try {
          // An ACK to a REQUEST follows a committed lease: the store is back.
          if (outage.active && r.kind === 'send' && r.request === 'REQUEST' && r.reply === 'ACK') outage.recovered();
          answer(sock, r, rinfo);
        } finally {
          settled();
        }
      },
      (err: unknown) => {
        settled();
        if (isStoreUnavailable(err)) {
          // docs/scale-out.md: the lease could not be committed, so no ACK; the client retransmits.
          m.ignored.inc('store-unavailable');
          outage.failed(err);
          return;
        }
        m.errors.inc();
        log.error({ err, from: rinfo.address }, 'dhcp request failed; no reply sent');
      },
    );
  }

  function answer(sock: DhcpSocket, r: Processed, rinfo: { address: string }): void {
    m.received.inc(r.request);
    if (r.kind === 'drop') {
      (r.malformed ? m.malformed : m.ignored).inc(r.reason);
      if (log.isLevelEnabled('debug'))
        log.debug({ from: rinfo.address, reason: r.reason, detail: r.detail }, 'dhcp packet dropped');
      return;
    }
    // A reply for the directly attached segment's broadcast leaves as a limited broadcast
    // (255.255.255.255) when we can send one: UEFI firmware PXE (OVMF, seen in the lab)
    // drops replies to the subnet broadcast address while it has no address of its own.
    const limited = r.to.address === direct.subnet.broadcast && bcast !== undefined;
    const out = limited ? bcast! : sock;
    const to = limited ? '255.255.255.255' : r.to.address;
    try {
      out.send(r.bytes, r.to.port, to, (err) => {
        if (err) {
          m.errors.inc();
          log.warn({ err, to: r.to.address }, 'dhcp send failed');
        } else m.replies.inc(r.reply);
      });
    } catch (err) {
      // Socket closed while the request was in flight (stop()).
      m.errors.inc();
      log.debug({ err }, 'dhcp send after close');
    }
    if (log.isLevelEnabled('debug'))
      log.debug({ mac: r.mac, xid: r.xid, request: r.request, reply: r.reply, to: r.to.address }, 'dhcp reply');
  }

  async function open(port: number, viaPxePort: boolean, address = dhcp.bind): Promise<DhcpSocket> {
    const sock = factory({ port, address });
    sock.on('error', (err) => log.error({ err, port }, 'dhcp socket error'));
    // Unicast to `address` (renewals, relays) arrives on the most specific socket: serve it too.
    sock.on('message', (msg, rinfo) => onMessage(sock, viaPxePort, msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      sock.on('error', reject);
      sock.bind(port, address, () => resolve());
    });
    sock.setBroadcast(true);
    sockets.push(sock);
    return sock;
  }

  /**
   * Linux sends 255.255.255.255 out of the interface that owns the socket's bound address even
   * without a default route (a wildcard-bound socket gets ENETUNREACH there). Only possible when
   * network.address is an address of this machine; otherwise replies use the subnet broadcast.
   */
  async function openLimitedBroadcast(): Promise<void> {
    if (dhcp.bind !== '0.0.0.0') return;
    try {
      bcast = await open(dhcp.port, false, deps.config.network.address);
    } catch (err) {
      log.warn(
        { err: (err as Error).message, address: deps.config.network.address },
        'cannot bind network.address: broadcast replies go to the subnet broadcast address (some UEFI PXE firmware ignores those)',
      );
    }
  }

  return {
    async start() {
      if (dhcp.mode === 'off') return;
      const n = await book.load();
      m.leases.set(n);
      await open(dhcp.port, false);
      await openLimitedBroadcast();
      if (dhcp.mode === 'proxy') await open(dhcp.proxyPort, true);
      sweeper = setInterval(() => {
        book.sweepOffers();
        m.leases.set(book.size);
      }, 10_000);
      sweeper.unref();
      log.info(
        { mode: dhcp.mode, port: dhcp.port, leases: n, subnets: ctx.config.scopes.map((s) => s.cfg.subnet) },
        'dhcp listening',
      );
    },
    async stop() {
      if (sweeper) clearInterval(sweeper);
      await Promise.all(sockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
      if (inflight > 0) await new Promise<void>((r) => (drained = r));
      await Promise.allSettled([...pending]);
    },
  };
}
