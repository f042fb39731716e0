/**
 * @module store/sqlite/bmc
 * Per-host BMC settings, one JSON row per host, deleted with the host.
 */
import type { BmcConfig } from '../../model/bmc-settings';
import type { BmcRepo } from '../store';
import type { Db, GroupCommitter } from './database';
import { notFound } from '../not-found';

export class SqliteBmc implements BmcRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      get: db.prepare('SELECT config FROM host_bmc WHERE host = ?'),
      host: db.prepare('SELECT 1 FROM hosts WHERE name = ?'),
      set: db.prepare(`INSERT INTO host_bmc (host, config, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(host) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`),
      delete: db.prepare('DELETE FROM host_bmc WHERE host = ?'),
    };
  }

  async get(host: string): Promise<BmcConfig | undefined> {
    const r = this.q.get.get(host) as { config: string } | undefined;
    return r && (JSON.parse(r.config) as BmcConfig);
  }

  set(host: string, config: BmcConfig): Promise<void> {
    return this.writer.write(() => {
      if (!this.q.host.get(host)) throw notFound(host);
      this.q.set.run(host, JSON.stringify(config), new Date().toISOString());
    });
  }

  delete(host: string): Promise<void> {
    return this.writer.write(() => {
      this.q.delete.run(host);
    });
  }
}
