/**
 * @module store/sqlite/mesh
 * WireGuard mesh membership (migration 3): one row per host, the mesh address unique. There is
 * no foreign key to `hosts`: when a host is deleted its row must outlive it until every peer
 * has dropped its public key, then the mesh service deletes the row (freeing the address).
 */
import { nextFreeAddress, type MeshMember, type MeshPeerInfo } from '../../model/mesh-member';
import { toMember, type MeshRow } from '../rows';
import type { MeshRepo } from '../store';
import type { Db, GroupCommitter } from './database';

export class SqliteMesh implements MeshRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      get: db.prepare('SELECT * FROM mesh_members WHERE host = ?'),
      list: db.prepare('SELECT * FROM mesh_members ORDER BY host'),
      addresses: db.prepare('SELECT address FROM mesh_members'),
      insert: db.prepare('INSERT INTO mesh_members (host, address, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      setPeer: db.prepare(
        'UPDATE mesh_members SET public_key = ?, endpoint = ?, listen_port = ?, updated_at = ? WHERE host = ?',
      ),
      delete: db.prepare('DELETE FROM mesh_members WHERE host = ?'),
    };
  }

  async get(host: string): Promise<MeshMember | undefined> {
    const r = this.q.get.get(host) as MeshRow | undefined;
    return r && toMember(r);
  }

  async list(): Promise<MeshMember[]> {
    return (this.q.list.all() as MeshRow[]).map(toMember);
  }

  allocate(host: string, cidr: string): Promise<MeshMember> {
    return this.writer.write(() => {
      const cur = this.q.get.get(host) as MeshRow | undefined;
      if (cur) return toMember(cur);
      const used = new Set((this.q.addresses.all() as Array<{ address: string }>).map((r) => r.address));
      const now = new Date().toISOString();
      this.q.insert.run(host, nextFreeAddress(cidr, used), now, now);
      return toMember(this.q.get.get(host) as MeshRow);
    });
  }

  setPeer(host: string, info: MeshPeerInfo): Promise<MeshMember> {
    return this.writer.write(() => {
      this.q.setPeer.run(info.publicKey, info.endpoint, info.listenPort, new Date().toISOString(), host);
      const r = this.q.get.get(host) as MeshRow | undefined;
      if (!r) throw new Error(`no mesh member ${host}`);
      return toMember(r);
    });
  }

  delete(host: string): Promise<void> {
    return this.writer.write(() => {
      this.q.delete.run(host);
    });
  }
}
