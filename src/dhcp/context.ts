/**
 * @module dhcp/context
 * What the message handlers need, gathered once per server: config slices turned into
 * scopes and policy, the lease book, host lookups, the event sink and the clock. No sockets.
 */
import type { BootClient } from '../boot/firmware';
import { decideBoot, type BootDecision, type BootPolicyConfig } from '../boot/policy';
import type { DhcpConfig } from '../config/sections/dhcp';
import type { Logger } from '../log';
import type { NewEvent } from '../model/event';
import type { Host } from '../model/host';
import type { DhcpHosts } from './hosts';
import type { LeaseBook } from './leases';
import type { DhcpPacket } from './packet';
import type { Scope } from './scope';

export interface HandlerContext {
  mode: 'authoritative' | 'proxy';
  /** Our address: option 54 in every reply, next-server. */
  serverId: string;
  /** `serverId` as an unsigned 32-bit integer (compared with option 54 of requests). */
  serverIdInt: number;
  scopes: Scope[];
  trustedRelays: ReadonlySet<string>;
  dhcp: DhcpConfig;
  policy: BootPolicyConfig;
  book: LeaseBook;
  /** Registered hosts by MAC and reserved address (dhcp/hosts.ts). */
  hosts: DhcpHosts;
  /** Appends to the timeline without delaying the reply; failures are logged by the sink. */
  emit: (e: NewEvent) => void;
  now: () => number;
  log: Logger;
  /** MACs already reported as discovered (bounded; see server.ts). */
  discovered: { has(mac: string): boolean; add(mac: string): void };
  /** Rate limit of host.discovered events (see noteDiscovered). */
  discoveredBudget: { second: number; used: number; suppressed: number };
  /** Last time (ms) each rate-limited warning was logged (see warnOnce). */
  warned: Map<string, number>;
  /** DECLINEs honoured per client key in the current hour (G8). */
  declines: Map<string, { hourStart: number; count: number }>;
}

export const DISCOVERED_PER_SECOND = 20;
const WARN_INTERVAL_MS = 60_000;

/**
 * Logs `msg` at warn at most once a minute per `key` (a flood must not become a log flood),
 * at debug otherwise.
 */
export function warnOnce(ctx: HandlerContext, key: string, data: Record<string, unknown>, msg: string): void {
  const t = ctx.now();
  const last = ctx.warned.get(key);
  if (last !== undefined && t - last < WARN_INTERVAL_MS) {
    ctx.log.debug(data, msg);
    return;
  }
  if (ctx.warned.size > 1000) ctx.warned.clear(); // keys are config-bounded; stay bounded anyway
  ctx.warned.set(key, t);
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

export function decide(ctx: HandlerContext, client: BootClient, host: Host | undefined): BootDecision {
  return decideBoot(client, host, ctx.policy);
}

/**
 * One host.discovered event per unknown MAC (when it is first granted a lease) per process
 * lifetime (bounded set), at most
 * `discoveredPerSecond` per second: a flood of spoofed MACs (D08, G7) must not turn into a
 * flood of timeline rows. Suppressed ones are counted in a (rate-limited) log line.
 */
export function noteDiscovered(ctx: HandlerContext, f: Facts, ip: string): void {
  if (f.host !== undefined || ctx.discovered.has(f.mac)) return;
  const sec = Math.floor(ctx.now() / 1000);
  const b = ctx.discoveredBudget;
  if (b.second !== sec) {
    if (b.suppressed > 0) warnOnce(ctx, 'discovered-rate', { suppressed: b.suppressed }, 'dhcp discovered events rate-limited');
    b.second = sec;
    b.used = 0;
    b.suppressed = 0;
  }
  if (b.used >= DISCOVERED_PER_SECOND) {
    b.suppressed += 1;
    return;
  }
  b.used += 1;
  ctx.discovered.add(f.mac);
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
