/**
 * @module model/mesh-member
 * A host's membership in the WireGuard mesh Kickstand owns, and the address allocator (in the
 * model because the store allocates atomically: store/sqlite/mesh.ts, store/postgres/mesh.ts).
 * The address is allocated once per host from `bootstrap.mesh.cidr` and kept across
 * re-bootstraps; it is freed when the host is deleted. Only the node's public key is known
 * here: the node generates its keypair and the private key never leaves it.
 */
import { ErrorCode, KickstandError } from '../errors';
import { intToIp, ipToInt, parseCidr } from './ipv4';

export interface MeshMember {
  host: string;
  /** Mesh address (a /32 inside the mesh CIDR), unique. */
  address: string;
  /** WireGuard public key (base64, 32 bytes) reported by the node; null until its keys step ran. */
  publicKey: string | null;
  /** Where peers reach the node's WireGuard port (its provisioning address unless overridden). */
  endpoint: string | null;
  listenPort: number | null;
  createdAt: string;
  updatedAt: string;
}

export type MeshPeerInfo = Pick<MeshMember, 'publicKey' | 'endpoint' | 'listenPort'>;

/** A WireGuard key: base64 of 32 bytes (43 chars + '='; the last char carries 4 bits). */
export const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** The lowest address of `cidr` not in `used` (network and broadcast excluded). */
export function nextFreeAddress(cidr: string, used: ReadonlySet<string>): string {
  const sn = parseCidr(cidr);
  if (!sn)
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `mesh CIDR ${cidr} is not valid`, {
      field: 'bootstrap.mesh.cidr',
    });
  const first = ipToInt(sn.network) + (sn.prefix >= 31 ? 0 : 1);
  const last = ipToInt(sn.broadcast) - (sn.prefix >= 31 ? 0 : 1);
  for (let n = first; n <= last; n++) {
    const ip = intToIp(n >>> 0);
    if (!used.has(ip)) return ip;
  }
  throw new KickstandError(ErrorCode.POOL_EXHAUSTED, `no free address left in the mesh CIDR ${cidr}`, {
    field: 'bootstrap.mesh.cidr',
    fix: 'use a larger bootstrap.mesh.cidr, or remove hosts that are gone',
  });
}
