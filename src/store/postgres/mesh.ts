/**
 * @module store/postgres/mesh
 * WireGuard mesh membership in PostgreSQL. Allocation locks the table so two daemons never
 * hand out the same mesh address.
 */
import type pg from 'pg';
import { nextFreeAddress, type MeshMember, type MeshPeerInfo } from '../../model/mesh-member';
import type { MeshRepo } from '../store';
import { toMember, type MeshRow } from '../rows';
import { q, tx } from './database';

export class PgMesh implements MeshRepo {
  constructor(private readonly pool: pg.Pool) {}

  async get(host: string): Promise<MeshMember | undefined> {
    const [r] = await q<MeshRow>(this.pool, 'SELECT * FROM mesh_members WHERE host = $1', [host]);
    return r && toMember(r);
  }

  async list(): Promise<MeshMember[]> {
    return (await q<MeshRow>(this.pool, 'SELECT * FROM mesh_members ORDER BY host COLLATE "C"')).map(toMember);
  }

  allocate(host: string, cidr: string): Promise<MeshMember> {
    return tx(this.pool, async (c) => {
      await c.query('LOCK TABLE mesh_members IN SHARE ROW EXCLUSIVE MODE');
      const cur = (await c.query<MeshRow>('SELECT * FROM mesh_members WHERE host = $1', [host])).rows[0];
      if (cur) return toMember(cur);
      const used = new Set(
        (await c.query<{ address: string }>('SELECT address FROM mesh_members')).rows.map((r) => r.address),
      );
      const now = new Date().toISOString();
      const r = await c.query<MeshRow>(
        'INSERT INTO mesh_members (host, address, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING *',
        [host, nextFreeAddress(cidr, used), now],
      );
      return toMember(r.rows[0]!);
    });
  }

  async setPeer(host: string, info: MeshPeerInfo): Promise<MeshMember> {
    const [r] = await q<MeshRow>(
      this.pool,
      'UPDATE mesh_members SET public_key = $1, endpoint = $2, listen_port = $3, updated_at = $4 WHERE host = $5 RETURNING *',
      [info.publicKey, info.endpoint, info.listenPort, new Date().toISOString(), host],
    );
    if (!r) throw new Error(`no mesh member ${host}`);
    return toMember(r);
  }

  async delete(host: string): Promise<void> {
    await q(this.pool, 'DELETE FROM mesh_members WHERE host = $1', [host]);
  }
}
