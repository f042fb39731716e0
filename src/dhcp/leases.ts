/**
 * @module dhcp/leases
 * Address allocation over the lease store: reservations first, then the client's existing
 * binding, its outstanding offer, the address it asked for, then the next free pool address.
 * Offers are held in memory, bounded by the pool and a TTL (D08). When several daemons share
 * the store (dhcp.reserveOffers, docs/scale-out.md "Offers"), each new offer is also reserved
 * as an `offered` row before the DHCPOFFER leaves ({@link LeaseBook.reserveOffer}), and the
 * `offered` rows other daemons wrote are held here as offers (never as bindings).
 * Bindings are written through {@link LeaseBook.commit}, which resolves only after the store
 * committed, so the caller sends the DHCPACK after the lease is durable (RFC 2131 §4.3.1
 * "the server MUST … record the binding", reliability G4). Addresses are unsigned 32-bit
 * integers here (hot path); the stored {@link Lease} rows speak dotted quads.
 */
import { leaseClientKey, type Lease } from '../model/lease';
import { ipToInt } from '../model/ipv4';
import { isLeaseTaken } from '../store/lease-rules';
import type { HostLookup, LeaseRepo } from '../store/store';
import type { Scope } from './scope';

interface Offer {
  key: string;
  expiresAt: number;
  /** When the `offered` row in the store for it expires (0: not reserved, memory only). */
  reservedUntil: number;
}

/** The client's identity (RFC 2131 §4.2; model/lease.ts): one binding per key. */
export const clientKey = leaseClientKey;

export function inPool(scope: Scope, n: number): boolean {
  return n >= scope.poolStart && n <= scope.poolEnd;
}

/** True when address `n` lies in the scope's subnet. */
export function inScope(scope: Scope, n: number): boolean {
  return (n & scope.maskInt) >>> 0 === scope.networkInt;
}

export class LeaseBook {
  private readonly byIp = new Map<number, Lease>();
  /** Client key → the address of its binding (any state but declined). */
  private readonly byKey = new Map<string, number>();
  /** Client key of each binding, so availability checks build no strings. */
  private readonly keyAt = new Map<number, string>();
  private readonly offers = new Map<number, Offer>();
  private readonly offerIndex = new Map<string, number>();
  private readonly cursors = new Map<Scope, number>();

  /**
   * `poolSeed`: where this daemon starts scanning each pool. Several daemons on one PostgreSQL
   * (docs/scale-out.md, HA pair) that all start at `poolStart` offer the same addresses in the
   * same order, and one of each pair of REQUESTs loses the commit and is NAKed; each starting at
   * its own point (a hash of its name) keeps them apart until the pool is nearly full. Omitted
   * (one daemon): the scan starts at `poolStart`.
   */
  constructor(
    private readonly repo: LeaseRepo,
    private readonly now: () => number,
    private readonly poolSeed?: string,
  ) {}

  /** Loads every stored lease (start-up); live `offered` rows are held as offers. */
  async load(): Promise<number> {
    const all = await this.repo.list();
    let n = 0;
    for (const l of all) if (this.learnRow(ipToInt(l.ip), l)) n += 1;
    return n;
  }

  get size(): number {
    return this.byIp.size;
  }

  private index(n: number, l: Lease): void {
    const old = this.byIp.get(n);
    if (old && old.state !== 'declined') {
      const k = this.keyAt.get(n)!;
      if (this.byKey.get(k) === n) this.byKey.delete(k);
    }
    this.byIp.set(n, l);
    if (l.state !== 'declined') {
      const k = clientKey(l.mac, l.clientId);
      this.keyAt.set(n, k);
      this.byKey.set(k, n);
    } else this.keyAt.delete(n);
  }

  private unindex(n: number): void {
    const k = this.keyAt.get(n);
    if (k !== undefined && this.byKey.get(k) === n) this.byKey.delete(k);
    this.keyAt.delete(n);
    this.byIp.delete(n);
  }

  /** The stored binding of address `n`, if any. */
  leaseAt(n: number): Lease | undefined {
    return this.byIp.get(n);
  }

  /** The client key holding address `n` (undefined when free or declined). */
  keyOf(n: number): string | undefined {
    return this.keyAt.get(n);
  }

  /** Address of the client's binding (any state but declined), if any. */
  bindingOf(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /** The client's binding (any state but declined), if any. */
  leaseOf(key: string): Lease | undefined {
    const n = this.byKey.get(key);
    return n === undefined ? undefined : this.byIp.get(n);
  }

  /** True when `n` may be given to `key`: not bound to another client, not quarantined, not offered elsewhere. */
  isAvailableFor(n: number, key: string): boolean {
    return this.availableInt(n, key, this.now());
  }

  private availableInt(n: number, key: string, t: number): boolean {
    const l = this.byIp.get(n);
    if (l && l.expiresAt > t && (l.state === 'declined' || this.keyAt.get(n) !== key)) return false;
    const o = this.offers.get(n);
    return !(o && o.key !== key && o.expiresAt > t);
  }

  /**
   * Next free pool address for `key`, scanning from a per-scope cursor; addresses statically
   * reserved for registered hosts (`reservations`, the store's host index) are skipped.
   * Undefined when the pool is full.
   */
  nextFree(scope: Scope, key: string, reservations: Pick<HostLookup, 'byIp'>): number | undefined {
    const size = scope.poolEnd - scope.poolStart + 1;
    let c = this.cursors.get(scope) ?? this.firstCursor(scope, size);
    const t = this.now();
    for (let i = 0; i < size; i += 1) {
      const n = c;
      c = c >= scope.poolEnd ? scope.poolStart : c + 1;
      if (!this.availableInt(n, key, t)) continue;
      this.cursors.set(scope, c);
      if (reservations.byIp(n) !== undefined) continue;
      return n;
    }
    return undefined;
  }

  /** The first address this daemon scans in `scope`: `poolStart`, or its own point (`poolSeed`). */
  private firstCursor(scope: Scope, size: number): number {
    if (this.poolSeed === undefined) return scope.poolStart;
    // FNV-1a (32-bit) of the seed and the pool: stable across restarts, spread over the pool.
    let h = 0x811c9dc5;
    for (const ch of `${this.poolSeed}/${scope.poolStart}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    return scope.poolStart + (h % size);
  }

  /**
   * Holds `n` for `key` until `ttlMs` from now (in memory only). An offer of `n` to `key`
   * already reserved in the store is kept as it is: its row's expiry bounds it.
   */
  holdOffer(n: number, key: string, ttlMs: number): void {
    const t = this.now();
    const o = this.offers.get(n);
    if (o && o.key === key && o.reservedUntil > t) this.setOffer(n, o);
    else this.setOffer(n, { key, expiresAt: t + ttlMs, reservedUntil: 0 });
  }

  private setOffer(n: number, o: Offer): void {
    const prev = this.offerIndex.get(o.key);
    if (prev !== undefined && prev !== n && this.offers.get(prev)?.key === o.key) this.offers.delete(prev);
    this.offers.set(n, o);
    this.offerIndex.set(o.key, n);
  }

  /**
   * A row read from the store at address `n`: an `offered` row is held as an offer (never as a
   * binding), any other row is indexed. True when it was indexed as a binding.
   */
  private learnRow(n: number, l: Lease): boolean {
    if (l.state !== 'offered') {
      this.index(n, l);
      return true;
    }
    this.unindex(n);
    this.learnOffer(n, l);
    return false;
  }

  /** An `offered` row read from the store (another daemon's offer, or ours before a restart). */
  private learnOffer(n: number, l: Lease): void {
    if (l.expiresAt <= this.now()) return; // expired: the address is free (lease-rules.ts)
    const key = clientKey(l.mac, l.clientId);
    const o = this.offers.get(n);
    if (o && o.key !== key && this.offerIndex.get(o.key) === n) this.offerIndex.delete(o.key);
    this.setOffer(n, { key, expiresAt: l.expiresAt, reservedUntil: l.expiresAt });
  }

  /**
   * True when offering `n` to `key` needs an `offered` row written first (docs/scale-out.md
   * "Offers"): not when the client holds a live binding of `n` (its own row; an offer must not
   * shorten it, lease-rules.ts), nor when its offer of `n` is already reserved for at least
   * half of `ttlMs` more (a retransmitted DISCOVER writes nothing).
   */
  needsReservation(n: number, key: string, ttlMs: number): boolean {
    const t = this.now();
    const o = this.offers.get(n);
    if (o && o.key === key && o.reservedUntil - t >= ttlMs / 2) return false;
    const l = this.byIp.get(n);
    return !(l && l.expiresAt > t && l.state === 'bound' && this.keyAt.get(n) === key);
  }

  /**
   * Reserves `l` (state `offered`, expiring at `l.expiresAt`) in the store and holds it as the
   * client's offer; resolves after the store committed the row. Held in memory first, so that
   * a concurrent exchange on this daemon does not pick the same address meanwhile. Refused
   * (KS_LEASE_TAKEN: another daemon's offer or binding holds the address, lease-rules.ts): the
   * hold is dropped, the book learns what the store holds at the address, and the error
   * propagates so that the caller picks another address.
   */
  async reserveOffer(l: Lease): Promise<void> {
    const n = ipToInt(l.ip);
    const key = clientKey(l.mac, l.clientId);
    const o: Offer = { key, expiresAt: l.expiresAt, reservedUntil: 0 };
    this.setOffer(n, o);
    try {
      await this.repo.put(l);
      o.reservedUntil = l.expiresAt;
    } catch (err) {
      if (this.offers.get(n) === o) this.offers.delete(n);
      if (this.offerIndex.get(key) === n) this.offerIndex.delete(key);
      if (isLeaseTaken(err)) await this.refresh(l).catch(() => undefined);
      throw err;
    }
  }

  /** Live offer for the client made by {@link holdOffer}, if any. */
  pendingOffer(key: string): number | undefined {
    const n = this.offerIndex.get(key);
    if (n === undefined) return undefined;
    const o = this.offers.get(n);
    if (!o || o.key !== key || o.expiresAt <= this.now()) {
      this.offerIndex.delete(key);
      return undefined;
    }
    return n;
  }

  /**
   * Forget the client's offer (SELECTING REQUEST for another server, RFC 2131 §4.3.2). An offer
   * reserved in the store keeps holding its address here until its row expires, as the row
   * does in the store (nobody else may take it meanwhile; docs/scale-out.md "Offers").
   */
  dropOffer(key: string): void {
    const n = this.offerIndex.get(key);
    if (n === undefined) return;
    const o = this.offers.get(n);
    if (o?.key === key && o.reservedUntil <= this.now()) this.offers.delete(n);
    this.offerIndex.delete(key);
  }

  /**
   * Writes the lease and resolves after the store committed it. The in-memory index is
   * updated first so a concurrent exchange cannot take the same address meanwhile; if the
   * commit fails the previous binding is restored and the error propagates (no ACK).
   */
  async commit(l: Lease): Promise<void> {
    const n = ipToInt(l.ip);
    const prev = this.byIp.get(n);
    const key = clientKey(l.mac, l.clientId);
    this.index(n, l);
    if (this.offers.get(n)?.key === key || l.state === 'declined') this.offers.delete(n);
    if (this.offerIndex.get(key) === n) this.offerIndex.delete(key);
    try {
      await this.repo.put(l);
    } catch (err) {
      if (prev) this.index(n, prev);
      else this.unindex(n);
      // Refused by the store: another daemon sharing the database bound the address or the
      // client (docs/scale-out.md). Learn what the database holds before the caller NAKs.
      if (isLeaseTaken(err)) await this.refresh(l).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Re-reads the rows of `l`'s address and of its client from the store into the index: after
   * a refused commit, and before answering "no record" to a client another daemon sharing the
   * database may have bound (docs/scale-out.md).
   */
  async refresh(l: Pick<Lease, 'ip' | 'mac' | 'clientId'>): Promise<void> {
    const key = clientKey(l.mac, l.clientId);
    const [atIp, own] = await Promise.all([
      this.repo.get(l.ip),
      key.startsWith('hw:') ? this.repo.findByMac(l.mac) : this.repo.findByClientId(l.clientId!),
    ]);
    const n = ipToInt(l.ip);
    if (atIp) this.learnRow(n, atIp);
    else this.unindex(n);
    if (own && own.ip !== l.ip) this.learnRow(ipToInt(own.ip), own);
  }

  /** Drops expired offers (called periodically; bounds memory, D08). Their rows, if any, stay: expired, they free the address (lease-rules.ts). */
  sweepOffers(): void {
    const t = this.now();
    for (const [n, o] of this.offers) if (o.expiresAt <= t) this.offers.delete(n);
    for (const [k, n] of this.offerIndex) if (this.offers.get(n)?.key !== k) this.offerIndex.delete(k);
  }
}
