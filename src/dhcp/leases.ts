/**
 * @module dhcp/leases
 * Address allocation over the lease store: reservations first, then the client's existing
 * binding, its outstanding offer, the address it asked for, then the next free pool address.
 * Offers live in memory only, bounded by the pool and a TTL (D08: no rows for mere offers).
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

  /** Loads every stored lease (start-up). */
  async load(): Promise<number> {
    const all = await this.repo.list();
    for (const l of all) this.index(ipToInt(l.ip), l);
    return all.length;
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

  /** Holds `n` for `key` until `ttlMs` from now (not persisted). */
  holdOffer(n: number, key: string, ttlMs: number): void {
    const prev = this.offerIndex.get(key);
    if (prev !== undefined && prev !== n && this.offers.get(prev)?.key === key) this.offers.delete(prev);
    this.offers.set(n, { key, expiresAt: this.now() + ttlMs });
    this.offerIndex.set(key, n);
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

  /** Forget the client's offer (SELECTING REQUEST for another server, RFC 2131 §4.3.2). */
  dropOffer(key: string): void {
    const n = this.offerIndex.get(key);
    if (n === undefined) return;
    if (this.offers.get(n)?.key === key) this.offers.delete(n);
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
    if (atIp) this.index(n, atIp);
    else this.unindex(n);
    if (own && own.ip !== l.ip) this.index(ipToInt(own.ip), own);
  }

  /** Drops expired offers (called periodically; bounds memory, D08). */
  sweepOffers(): void {
    const t = this.now();
    for (const [n, o] of this.offers) if (o.expiresAt <= t) this.offers.delete(n);
    for (const [k, n] of this.offerIndex) if (this.offers.get(n)?.key !== k) this.offerIndex.delete(k);
  }
}
