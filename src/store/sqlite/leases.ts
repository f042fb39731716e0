/**
 * @module store/sqlite/leases
 * DHCP bindings. `put` obeys store/lease-rules.ts and goes through the group committer: concurrent exchanges share one
 * fsync, and each caller's promise resolves only after the commit (RFC 2131 §4.3.1: the
 * server must not hand out an address it has not recorded).
 */
import type { Lease } from '../../model/lease';
import { addressTaken, clientHoldsOther, mayReplace, otherBinding } from '../lease-rules';
import { toLease, type LeaseRow } from '../rows';
import type { LeaseRepo } from '../store';
import type { Db, GroupCommitter } from './database';

export class SqliteLeases implements LeaseRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      get: db.prepare('SELECT * FROM leases WHERE ip = ?'),
      // The client's binding before its offers (store.ts LeaseRepo.findByMac).
      byMac: db.prepare("SELECT * FROM leases WHERE mac = ? ORDER BY state = 'offered', updated_at DESC LIMIT 1"),
      byClientId: db.prepare(
        "SELECT * FROM leases WHERE client_id = ? ORDER BY state = 'offered', updated_at DESC LIMIT 1",
      ),
      clientRows: db.prepare('SELECT * FROM leases WHERE ip = ? OR mac = ? OR client_id = ?'),
      put: db.prepare(`INSERT INTO leases (ip, mac, client_id, hostname, state, expires_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id,
          hostname = excluded.hostname, state = excluded.state, expires_at = excluded.expires_at,
          updated_at = excluded.updated_at`),
      delete: db.prepare('DELETE FROM leases WHERE ip = ?'),
      list: db.prepare('SELECT * FROM leases ORDER BY ip'),
    };
  }

  async get(ip: string): Promise<Lease | undefined> {
    const r = this.q.get.get(ip) as LeaseRow | undefined;
    return r && toLease(r);
  }

  async findByMac(mac: string): Promise<Lease | undefined> {
    const r = this.q.byMac.get(mac) as LeaseRow | undefined;
    return r && toLease(r);
  }

  async findByClientId(clientId: string): Promise<Lease | undefined> {
    const r = this.q.byClientId.get(clientId) as LeaseRow | undefined;
    return r && toLease(r);
  }

  /** The rules of store/lease-rules.ts, checked inside the write's transaction. */
  put(lease: Lease): Promise<void> {
    // Read now: the caller may reuse the object before the commit.
    const l = { ...lease };
    return this.writer.write(() => {
      // One indexed read: the row at the address and, for a binding, the client's rows.
      const rows =
        l.state === 'bound'
          ? (this.q.clientRows.all(l.ip, l.mac, l.clientId) as LeaseRow[]).map(toLease)
          : ((r) => (r ? [toLease(r)] : []))(this.q.get.get(l.ip) as LeaseRow | undefined);
      if (
        !mayReplace(
          rows.find((r) => r.ip === l.ip),
          l,
        )
      )
        throw addressTaken(l);
      const other = otherBinding(rows, l);
      if (other) throw clientHoldsOther(l, other);
      this.q.put.run(l.ip, l.mac, l.clientId, l.hostname, l.state, l.expiresAt, l.updatedAt);
    });
  }

  delete(ip: string): Promise<void> {
    return this.writer.write(() => {
      this.q.delete.run(ip);
    });
  }

  async list(): Promise<Lease[]> {
    return (this.q.list.all() as LeaseRow[]).map(toLease);
  }
}
