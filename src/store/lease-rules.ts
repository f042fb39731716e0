/**
 * @module store/lease-rules
 * What a lease write may replace, the same in every store (several daemons on one database
 * must never bind one address to two clients, docs/scale-out.md):
 * - a `declined` write (quarantine, RFC 2131 §4.3.3) always lands: it binds nobody;
 * - any other write lands on a free address, an expired row, or the same client's row;
 * - a `bound` write is refused while the client holds another live binding (one per client).
 * `now` is the write's own updatedAt (the daemon's clock). A refusal is KS_LEASE_TAKEN.
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
  return held.state !== 'declined' && leaseClientKey(held.mac, held.clientId) === leaseClientKey(l.mac, l.clientId);
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
