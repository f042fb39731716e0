/**
 * @module store/lease-rules
 * What a lease write may replace, the same in every store (several daemons on one database
 * must never bind one address to two clients, docs/scale-out.md):
 * - a `declined` write (quarantine, RFC 2131 §4.3.3) always lands: it binds nobody;
 * - any other write lands on a free address, an expired row, or the same client's row;
 * - an `offered` write (an offer reserved before the DHCPOFFER leaves, docs/scale-out.md
 *   "Offers") never replaces a live `bound` row, not even the same client's: it would cut the
 *   binding short to the offer's expiry, and the address could go to another client while the
 *   first still uses it;
 * - a `bound` write is refused while the client holds another live binding (one per client);
 *   `offered` rows are not bindings (a client may hold an offer and a binding).
 * `now` is the write's own updatedAt (the daemon's clock). A refusal is KS_LEASE_TAKEN.
 * The PostgreSQL store checks the same rules in SQL ({@link mayReplaceSql}, one statement per
 * write); test/store/contract.ts runs the same cases on both stores.
 */
import { ErrorCode, KickstandError } from '../errors';
import { leaseClientKey, type Lease } from '../model/lease';

/** The stored fields the rules read. */
export interface HeldLease {
  ip: string;
  mac: string;
  clientId: string | null;
  state: Lease['state'];
  expiresAt: number;
}

/** True when `l` may replace `held` (the row at the same address). */
export function mayReplace(held: HeldLease | undefined, l: Lease): boolean {
  if (held === undefined || l.state === 'declined' || held.expiresAt <= l.updatedAt) return true;
  if (l.state === 'offered' && held.state === 'bound') return false;
  return held.state !== 'declined' && leaseClientKey(held.mac, held.clientId) === leaseClientKey(l.mac, l.clientId);
}

/**
 * {@link leaseClientKey} of the row `t` in SQL (PostgreSQL): `hw:<mac>` when there is no client
 * id or it is `01` + the MAC's six octets, else `id:<client id>`.
 */
export function clientKeySql(t: string): string {
  return `CASE WHEN ${t}.client_id IS NULL OR (length(${t}.mac) = 17 AND ${t}.client_id = '01' || replace(${t}.mac, ':', '')) THEN 'hw:' || ${t}.mac ELSE 'id:' || ${t}.client_id END`;
}

/**
 * {@link mayReplace} in SQL, for `INSERT … ON CONFLICT (ip) DO UPDATE … WHERE`: `leases` is the
 * held row, `excluded` the write, `$key` the write's client key as a parameter reference.
 * (A free address has no held row: the INSERT lands.)
 */
export function mayReplaceSql(key: string): string {
  return `(excluded.state = 'declined' OR leases.expires_at <= excluded.updated_at OR (
      NOT (excluded.state = 'offered' AND leases.state = 'bound')
      AND leases.state <> 'declined' AND ${clientKeySql('leases')} = ${key}))`;
}

/** The client's other live binding among `rows` (same key, another address), if any. */
export function otherBinding(rows: readonly HeldLease[], l: Lease): HeldLease | undefined {
  if (l.state !== 'bound') return undefined;
  const key = leaseClientKey(l.mac, l.clientId);
  return rows.find(
    (r) =>
      r.ip !== l.ip && r.state === 'bound' && r.expiresAt > l.updatedAt && leaseClientKey(r.mac, r.clientId) === key,
  );
}

export function addressTaken(l: Lease): KickstandError {
  return new KickstandError(ErrorCode.LEASE_TAKEN, `${l.ip} is bound to another client`, {
    field: 'ip',
    fix: 'offer the client another address (the DHCP server NAKs and the client starts over)',
  });
}

export function clientHoldsOther(l: Lease, other: HeldLease): KickstandError {
  return new KickstandError(ErrorCode.LEASE_TAKEN, `${l.mac} already holds ${other.ip}`, {
    field: 'mac',
    fix: `give the client ${other.ip}, or release it first`,
  });
}

export function isLeaseTaken(err: unknown): boolean {
  return err instanceof KickstandError && err.code === ErrorCode.LEASE_TAKEN;
}
