/**
 * @module dhcp/context
 * What the message handlers need, gathered once per server: the fixed {@link HandlerConfig}
 * (config slices turned into scopes, policy and option bytes), the lease book, host lookups,
 * the event sink and the clock, and the small mutable {@link HandlerState} (rate limits). No
 * sockets. Nothing here is allocated per packet.
 */
import type { BootClient } from '../boot/firmware';
import type { BootDecision, BootPolicyConfig } from '../boot/policy';
import type { DhcpConfig } from '../config/sections/dhcp';
import type { Logger } from '../log';
import type { DiscoveredMacs } from '../model/discovered-macs';
import type { NewEvent } from '../model/event';
import type { Host } from '../model/host';
import type { HostLookup } from '../store/store';
import type { LeaseBook } from './leases';
import type { OptionLevels } from './option-sets';
import type { DhcpPacket } from './packet';
import type { Scope } from './scope';

/** Fixed for the server's life: built from the config once (dhcp/server.ts). */
export interface HandlerConfig {
  readonly mode: 'authoritative' | 'proxy';
  /** Our address: option 54 in every reply, next-server. */
  readonly serverId: string;
  /** `serverId` as an unsigned 32-bit integer (compared with option 54 of requests). */
  readonly serverIdInt: number;
  /** `serverId` as option 54's four octets, shared by every reply (never mutated). */
  readonly serverIdBytes: Buffer;
  readonly scopes: readonly Scope[];
  readonly trustedRelays: ReadonlySet<string>;
  readonly dhcp: DhcpConfig;
  /**
   * Reserve each new offer as an `offered` row before the DHCPOFFER leaves (dhcp.reserveOffers;
   * unset: on when the store is PostgreSQL, shared by several daemons; docs/scale-out.md "Offers").
   */
  readonly reserveOffers: boolean;
  readonly policy: BootPolicyConfig;
  /** Profile- and host-level DHCP options (`profiles.*.dhcpOptions`, `dhcp.hostOptions`), encoded. */
  readonly optionLevels: OptionLevels;
}

/** The handlers' mutable state: rate limits of events, warnings and declines. */
export interface HandlerState {
  /** Unknown MACs already reported as discovered (bounded, rate-limited). */
  readonly discovered: DiscoveredMacs;
  /** Last time (ms) each rate-limited warning was logged (see warnOnce). */
  readonly warned: Map<string, number>;
  /** DECLINEs honoured per client key in the current hour (G8). */
  readonly declines: Map<string, { hourStart: number; count: number }>;
}

export interface HandlerContext {
  readonly config: HandlerConfig;
  readonly state: HandlerState;
  readonly book: LeaseBook;
  /** Registered hosts by MAC and reserved address: the store's in-memory index, synchronous. */
  readonly hosts: HostLookup;
  /** Appends to the timeline without delaying the reply; failures are logged by the sink. */
  readonly emit: (e: NewEvent) => void;
  readonly now: () => number;
  readonly log: Logger;
}

const WARN_INTERVAL_MS = 60_000;

/**
 * Logs `msg` at warn at most once a minute per `key` (a flood must not become a log flood),
 * at debug otherwise.
 */
export function warnOnce(ctx: HandlerContext, key: string, data: Record<string, unknown>, msg: string): void {
  const t = ctx.now();
  const warned = ctx.state.warned;
  const last = warned.get(key);
  if (last !== undefined && t - last < WARN_INTERVAL_MS) {
    ctx.log.debug(data, msg);
    return;
  }
  if (warned.size > 1000) warned.clear(); // keys are config-bounded; stay bounded anyway
  warned.set(key, t);
  ctx.log.warn(data, msg);
}

/** Request facts every flow needs. */
export interface Facts {
  mac: string;
  key: string;
  clientId: string | null;
  host: Host | undefined;
  client: BootClient;
  decision: BootDecision;
}

/**
 * One host.discovered event per unknown MAC when it is first granted a lease, bounded and
 * rate-limited by model/discovered-macs.ts: a flood of spoofed MACs (D08, G7) must not turn
 * into a flood of timeline rows. Suppressed ones are counted in a (rate-limited) log line.
 */
export function noteDiscovered(ctx: HandlerContext, f: Facts, ip: string): void {
  if (f.host !== undefined) return;
  const d = ctx.state.discovered;
  const admitted = d.admit(f.mac, ctx.now());
  const suppressed = d.takeSuppressed();
  if (suppressed > 0) warnOnce(ctx, 'discovered-rate', { suppressed }, 'dhcp discovered events rate-limited');
  if (!admitted) return;
  ctx.emit({
    kind: 'host.discovered',
    mac: f.mac,
    message: `unregistered machine ${f.mac} leased ${ip}`,
    data: { ip, arch: f.client.arch ?? null, firmware: f.client.firmware, vendorClass: f.client.vendorClass ?? null },
  });
}

/** A handler's answer: a reply to send, or silence with a reason (metric label, debug log). */
export type Outcome = { kind: 'reply'; reply: DhcpPacket } | { kind: 'silent'; reason: string };

export const silent = (reason: string): Outcome => ({ kind: 'silent', reason });
