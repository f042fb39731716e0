/**
 * @module dhcp/authoritative
 * The authoritative server's message flows (RFC 2131 §4.3): DISCOVER → OFFER, REQUEST →
 * ACK/NAK/silence by client state, DECLINE (quarantine), RELEASE, INFORM. No sockets.
 */
import { intToIp, ipToInt } from '../model/ipv4';
import type { Lease } from '../model/lease';
import { MessageType, Opt } from './constants';
import { noteDiscovered, silent, warnOnce, type Facts, type HandlerContext, type Outcome } from './context';
import { isLeaseTaken } from '../store/lease-rules';
import { inPool, inScope } from './leases';
import { addConfiguredOptions, hostnameValue, optionsFor } from './option-sets';
import { getIpInt } from './options';
import type { DhcpPacket } from './packet';
import { addBoot, addLeaseOptions, baseReply, echoRelayInfo, maxReplyLength, nakReply } from './reply';
import type { Scope } from './scope';
import { relayOrigin } from './suboptions';

const ZERO = '0.0.0.0';

/** Static reservation of a registered host, when it lies in the client's subnet. */
function reservation(f: Facts, scope: Scope): number | undefined {
  const ip = f.host?.ipv4 ?? null;
  if (ip === null) return undefined;
  const n = ipToInt(ip);
  return inScope(scope, n) ? n : undefined;
}

/** True when a registered host reserves `n` (the store's in-memory host index). */
function isReserved(ctx: HandlerContext, n: number): boolean {
  return ctx.hosts.byIp(n) !== undefined;
}

function pickAddress(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope): number | undefined {
  const reserved = reservation(f, scope);
  if (reserved !== undefined) return reserved;
  const own = ctx.book.bindingOf(f.key);
  if (own !== undefined && inScope(scope, own) && inPool(scope, own) && ctx.book.isAvailableFor(own, f.key)) return own;
  const offered = ctx.book.pendingOffer(f.key);
  if (offered !== undefined && inPool(scope, offered)) return offered;
  const wanted = getIpInt(p.options, Opt.REQUESTED_IP);
  if (wanted !== undefined && inPool(scope, wanted) && ctx.book.isAvailableFor(wanted, f.key)) {
    if (!isReserved(ctx, wanted)) return wanted;
  }
  return ctx.book.nextFree(scope, f.key, ctx.hosts);
}

function leaseReply(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope, type: number, ip: string): DhcpPacket {
  const r = baseReply(p, type, ctx.config.serverIdBytes);
  r.yiaddr = ip;
  addLeaseOptions(r, scope, true);
  const opts = optionsFor(ctx.config.optionLevels, scope.configured, f.host);
  if (f.host) {
    const name = hostnameValue(opts.hostname, f.host, scope.cfg.domain);
    if (name !== undefined) r.options.set(Opt.HOSTNAME, name);
  }
  addBoot(r, p, f.decision);
  addConfiguredOptions(r, p, opts, maxReplyLength(p));
  echoRelayInfo(r, p);
  return r;
}

/** Addresses tried for one DISCOVER whose offers other daemons' rows refuse (docs/scale-out.md "Offers"). */
const RESERVE_ATTEMPTS = 4;

export async function onDiscover(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope): Promise<Outcome> {
  const ttl = ctx.config.dhcp.offerTtl * 1000;
  for (let attempt = 1; ; attempt += 1) {
    const n = pickAddress(ctx, p, f, scope);
    if (n === undefined) {
      warnOnce(ctx, `pool:${scope.cfg.subnet}`, { mac: f.mac, subnet: scope.cfg.subnet }, 'dhcp pool exhausted');
      return silent('pool-exhausted');
    }
    // A registered host's static reservation is its own through the hosts table; other
    // offers are reserved in the shared store before the OFFER leaves (dhcp.reserveOffers).
    if (!ctx.config.reserveOffers || reservation(f, scope) === n || !ctx.book.needsReservation(n, f.key, ttl)) {
      ctx.book.holdOffer(n, f.key, ttl);
      return offer(ctx, p, f, scope, n);
    }
    const now = ctx.now();
    try {
      await ctx.book.reserveOffer({
        ip: intToIp(n),
        mac: f.mac,
        clientId: f.clientId,
        hostname: f.host?.name ?? clientHostname(p),
        state: 'offered',
        expiresAt: now + ttl,
        updatedAt: now,
      });
      return offer(ctx, p, f, scope, n);
    } catch (err) {
      if (!isLeaseTaken(err)) throw err; // store unreachable: no offer we could not honour
      // Another daemon's offer or binding holds n; the book now knows it: pick again.
      if (attempt >= RESERVE_ATTEMPTS) {
        warnOnce(
          ctx,
          `reserve:${scope.cfg.subnet}`,
          { mac: f.mac, subnet: scope.cfg.subnet, attempts: attempt },
          'dhcp offer not reserved: other daemons hold every address tried; no offer',
        );
        return silent('offer-not-reserved');
      }
    }
  }
}

function offer(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope, n: number): Outcome {
  const ip = intToIp(n);
  if (f.host)
    ctx.emit({
      kind: 'dhcp.offer',
      host: f.host.name,
      mac: f.mac,
      message: `offered ${ip}`,
      data: { ip, boot: f.decision.kind },
    });
  return { kind: 'reply', reply: leaseReply(ctx, p, f, scope, MessageType.OFFER, ip) };
}

/** Sanitised client host name (option 12) for the lease row: RFC 1123 characters, bounded (D03). */
function clientHostname(p: DhcpPacket): string | null {
  const v = p.options.get(Opt.HOSTNAME);
  if (v === undefined) return null;
  const s = v.toString('latin1').slice(0, 63);
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(s) ? s : null;
}

async function ack(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope, n: number): Promise<Outcome> {
  const now = ctx.now();
  const ip = intToIp(n);
  const lease: Lease = {
    ip,
    mac: f.mac,
    clientId: f.clientId,
    hostname: f.host?.name ?? clientHostname(p),
    state: 'bound',
    expiresAt: now + scope.cfg.leaseTime * 1000,
    updatedAt: now,
  };
  const committed = ctx.book.commit(lease);
  // Queued in the same event-loop turn as the lease, so the event rides the same group commit
  // (one fsync) instead of forcing another one; it reads "granted" even if that commit failed.
  if (f.host) {
    const relay = relayOrigin(p.giaddr, p.options.get(Opt.RELAY_AGENT_INFO));
    ctx.emit({
      kind: 'dhcp.ack',
      host: f.host.name,
      mac: f.mac,
      message: relay === undefined ? `leased ${ip}` : `leased ${ip} via relay ${relay.giaddr}`,
      data: { ip, boot: f.decision.kind, leaseTime: scope.cfg.leaseTime, ...(relay !== undefined ? { relay } : {}) },
    });
  } else noteDiscovered(ctx, f, ip);
  try {
    await committed; // durable before the ACK leaves (G4)
  } catch (err) {
    if (!isLeaseTaken(err)) throw err;
    return takenElsewhere(ctx, p, f, scope, lease);
  }
  return { kind: 'reply', reply: leaseReply(ctx, p, f, scope, MessageType.ACK, ip) };
}

/**
 * The store refused the binding: another daemon on the same database bound the address, or
 * the client holds another live binding (docs/scale-out.md); the book now knows which. A
 * client that moved to this scope, or whose host now has a reservation here, gives up the old
 * binding and gets the new one; otherwise NAK (RFC 2131 §4.3.2), so that the client starts
 * over and is offered what the database holds for it. Never an ACK for an uncommitted lease.
 */
async function takenElsewhere(
  ctx: HandlerContext,
  p: DhcpPacket,
  f: Facts,
  scope: Scope,
  lease: Lease,
): Promise<Outcome> {
  const n = ipToInt(lease.ip);
  const own = ctx.book.bindingOf(f.key);
  const moved = own !== undefined && own !== n && (!inScope(scope, own) || reservation(f, scope) === n);
  if (moved && ctx.book.isAvailableFor(n, f.key)) {
    const held = ctx.book.leaseAt(own)!;
    try {
      await ctx.book.commit({ ...held, state: 'released', expiresAt: lease.updatedAt, updatedAt: lease.updatedAt });
      await ctx.book.commit(lease);
      return { kind: 'reply', reply: leaseReply(ctx, p, f, scope, MessageType.ACK, lease.ip) };
    } catch (err) {
      if (!isLeaseTaken(err)) throw err;
    }
  }
  ctx.log.info({ mac: f.mac, ip: lease.ip }, 'dhcp lease taken through another daemon; NAK');
  return nak(ctx, p, f, `${lease.ip} is not available`);
}

function nak(ctx: HandlerContext, p: DhcpPacket, f: Facts, why: string): Outcome {
  if (f.host) ctx.emit({ kind: 'dhcp.nak', host: f.host.name, mac: f.mac, level: 'warn', message: why, data: {} });
  return { kind: 'reply', reply: nakReply(p, ctx.config.serverIdBytes, why) };
}

/** True when `n` is the client's to take: its reservation, its binding, or a free pool address. */
function mayHave(ctx: HandlerContext, f: Facts, scope: Scope, n: number): boolean {
  const reserved = reservation(f, scope);
  if (reserved !== undefined) return reserved === n;
  const own = ctx.book.bindingOf(f.key);
  if (own === n) return ctx.book.isAvailableFor(n, f.key);
  return (
    ctx.book.pendingOffer(f.key) === n || (inPool(scope, n) && ctx.book.isAvailableFor(n, f.key) && own === undefined)
  );
}

/**
 * Before answering "no record": another daemon on the same database may have bound the client
 * (HA, docs/scale-out.md: a client of a dead peer rebinds or reboots through this one). One
 * read of the address's and the client's rows; with a single daemon it finds nothing.
 */
function learn(ctx: HandlerContext, f: Facts, ip: string): Promise<void> {
  return ctx.book.refresh({ ip, mac: f.mac, clientId: f.clientId });
}

/** RFC 2131 §4.3.2: the REQUEST's meaning depends on server-id, ciaddr and option 50. */
export async function onRequest(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope): Promise<Outcome> {
  const sid = getIpInt(p.options, Opt.SERVER_ID);
  const wanted = getIpInt(p.options, Opt.REQUESTED_IP);
  if (sid !== undefined) {
    // SELECTING. Another server chosen: our offer counts as declined (D15).
    if (sid !== ctx.config.serverIdInt) {
      ctx.book.dropOffer(f.key);
      return silent('other-server');
    }
    const n = wanted ?? (p.ciaddr !== ZERO ? ipToInt(p.ciaddr) : undefined);
    if (n === undefined) return silent('request-without-address');
    if (!inScope(scope, n) || !mayHave(ctx, f, scope, n)) return nak(ctx, p, f, `${intToIp(n)} is not available`);
    return ack(ctx, p, f, scope, n);
  }
  if (p.ciaddr === ZERO) {
    // INIT-REBOOT: wrong network → NAK; no record → MUST stay silent (D14).
    if (wanted === undefined) return silent('request-without-address');
    if (!inScope(scope, wanted)) return nak(ctx, p, f, `${intToIp(wanted)} is on the wrong network`);
    const reserved = reservation(f, scope);
    // Nothing here for `wanted`: another daemon sharing the store may have bound it, or offered
    // it, to this client (docs/scale-out.md "Offers": a client switching servers).
    if (reserved === undefined && ctx.book.bindingOf(f.key) !== wanted && ctx.book.pendingOffer(f.key) !== wanted)
      await learn(ctx, f, intToIp(wanted));
    const own = ctx.book.bindingOf(f.key);
    // An address offered to this client (by this daemon, or reserved by another) is its record too.
    if (
      reserved === wanted ||
      (own === wanted && ctx.book.isAvailableFor(wanted, f.key)) ||
      (reserved === undefined && ctx.book.pendingOffer(f.key) === wanted)
    )
      return ack(ctx, p, f, scope, wanted);
    if (reserved !== undefined || own !== undefined || !ctx.book.isAvailableFor(wanted, f.key))
      return nak(ctx, p, f, `${intToIp(wanted)} is not yours`);
    return silent('init-reboot-no-record');
  }
  // RENEWING (unicast) / REBINDING (broadcast): extend the binding at ciaddr.
  const ci = ipToInt(p.ciaddr);
  const reserved = reservation(f, scope);
  if (reserved === undefined && ctx.book.leaseAt(ci) === undefined) await learn(ctx, f, p.ciaddr);
  const at = ctx.book.leaseAt(ci);
  if (
    reserved === ci ||
    (at && at.state !== 'declined' && ctx.book.keyOf(ci) === f.key && ctx.book.isAvailableFor(ci, f.key))
  ) {
    return ack(ctx, p, f, scope, ci);
  }
  if (at !== undefined || reserved !== undefined) return nak(ctx, p, f, `${p.ciaddr} is not yours`);
  return silent('renew-no-record');
}

/** Sender checks for DECLINE/RELEASE (D10): our server-id, and the binding belongs to the sender. */
function ownedBinding(ctx: HandlerContext, p: DhcpPacket, f: Facts, n: number | undefined): Lease | undefined {
  if (getIpInt(p.options, Opt.SERVER_ID) !== ctx.config.serverIdInt || n === undefined) return undefined;
  const l = ctx.book.leaseAt(n);
  return l && l.state !== 'declined' && ctx.book.keyOf(n) === f.key ? l : undefined;
}

/** RFC 2131 §4.3.3: the address is in use elsewhere; quarantine it (rate-limited per client, G8). */
export async function onDecline(ctx: HandlerContext, p: DhcpPacket, f: Facts): Promise<Outcome> {
  const l = ownedBinding(ctx, p, f, getIpInt(p.options, Opt.REQUESTED_IP));
  if (!l) return silent('decline-not-owned');
  const now = ctx.now();
  const hour = Math.floor(now / 3_600_000);
  const seen = ctx.state.declines.get(f.key);
  const count = seen && seen.hourStart === hour ? seen.count : 0;
  if (count >= ctx.config.dhcp.declineLimitPerHour) {
    warnOnce(
      ctx,
      `decline:${f.key}`,
      { mac: f.mac, ip: l.ip, limit: ctx.config.dhcp.declineLimitPerHour },
      'dhcp decline limit reached; decline ignored',
    );
    return silent('decline-limit');
  }
  ctx.state.declines.set(f.key, { hourStart: hour, count: count + 1 });
  await ctx.book.commit({
    ip: l.ip,
    mac: '',
    clientId: null,
    hostname: null,
    state: 'declined',
    expiresAt: now + ctx.config.dhcp.declineProbation * 1000,
    updatedAt: now,
  });
  ctx.log.warn({ mac: f.mac, ip: l.ip }, 'dhcp address declined; quarantined');
  ctx.emit({
    kind: 'dhcp.decline',
    host: f.host?.name ?? null,
    mac: f.mac,
    level: 'warn',
    message: `${l.ip} declined (in use by another machine); quarantined`,
    data: { ip: l.ip },
  });
  return silent('declined');
}

/** RFC 2131 §4.3.4: free the address but keep the binding for the same client. */
export async function onRelease(ctx: HandlerContext, p: DhcpPacket, f: Facts): Promise<Outcome> {
  const l = ownedBinding(ctx, p, f, ipToInt(p.ciaddr));
  if (!l) return silent('release-not-owned');
  const now = ctx.now();
  try {
    await ctx.book.commit({ ...l, state: 'released', expiresAt: now, updatedAt: now });
  } catch (err) {
    if (!isLeaseTaken(err)) throw err;
    return silent('release-not-owned'); // bound to another client through another daemon
  }
  if (f.host)
    ctx.emit({ kind: 'dhcp.release', host: f.host.name, mac: f.mac, message: `released ${l.ip}`, data: { ip: l.ip } });
  return silent('released');
}

/** RFC 2131 §4.3.5: configuration only; no yiaddr, no lease time, nothing allocated. */
export function onInform(ctx: HandlerContext, p: DhcpPacket, f: Facts, scope: Scope): Outcome {
  const r = baseReply(p, MessageType.ACK, ctx.config.serverIdBytes);
  addLeaseOptions(r, scope, false);
  addBoot(r, p, f.decision);
  addConfiguredOptions(r, p, optionsFor(ctx.config.optionLevels, scope.configured, f.host), maxReplyLength(p));
  echoRelayInfo(r, p);
  if (f.host)
    ctx.emit({
      kind: 'dhcp.inform',
      host: f.host.name,
      mac: f.mac,
      message: `configuration for ${p.ciaddr}`,
      data: {},
    });
  return { kind: 'reply', reply: r };
}
