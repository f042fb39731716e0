/**
 * @module store/rows
 * Row shapes of the `leases`, `install_tokens` and `mesh_members` tables and their mapping to the model
 * (and the stored form of a new event): the
 * same columns and encodings in the SQLite and the PostgreSQL store (store/sqlite/migrations.ts,
 * store/postgres/migrations.ts), so both map rows here rather than one borrowing the other's.
 */
import type { HostEvent, NewEvent } from '../model/event';
import type { Lease, LeaseState } from '../model/lease';
import type { MeshMember } from '../model/mesh-member';
import type { InstallToken } from '../model/token';

export interface LeaseRow {
  ip: string;
  mac: string;
  client_id: string | null;
  hostname: string | null;
  state: string;
  expires_at: number;
  updated_at: number;
}

export const toLease = (r: LeaseRow): Lease => ({
  ip: r.ip,
  mac: r.mac,
  clientId: r.client_id,
  hostname: r.hostname,
  state: r.state as LeaseState,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});

export interface TokenRow {
  token: string;
  host: string;
  issued_at: number;
  expires_at: number;
  fetched_at: number | null;
  revoked_at: number | null;
}

export const toToken = (r: TokenRow): InstallToken => ({
  token: r.token,
  host: r.host,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
  fetchedAt: r.fetched_at,
  revokedAt: r.revoked_at,
});

export interface MeshRow {
  host: string;
  address: string;
  public_key: string | null;
  endpoint: string | null;
  listen_port: number | null;
  created_at: string;
  updated_at: string;
}

export function toMember(r: MeshRow): MeshMember {
  return {
    host: r.host,
    address: r.address,
    publicKey: r.public_key,
    endpoint: r.endpoint,
    listenPort: r.listen_port,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The stored form of `e`, timestamped now. */
export function newEvent(e: NewEvent): Omit<HostEvent, 'id'> {
  return {
    ts: new Date().toISOString(),
    host: e.host ?? null,
    mac: e.mac ?? null,
    kind: e.kind,
    level: e.level ?? 'info',
    message: e.message,
    data: e.data ?? {},
  };
}
