/**
 * @module store/sqlite/server-waits
 * Agents waiting for a k3s server (migration 5): one row per host, deleted with the host.
 */
import type { ServerWaitRepo } from '../store';
import type { Db, GroupCommitter } from './database';
import { notFound } from '../not-found';

export class SqliteServerWaits implements ServerWaitRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      host: db.prepare('SELECT 1 FROM hosts WHERE name = ?'),
      add: db.prepare('INSERT INTO k3s_server_waits (host, since) VALUES (?, ?) ON CONFLICT(host) DO NOTHING'),
      list: db.prepare('SELECT host FROM k3s_server_waits ORDER BY since, host'),
      delete: db.prepare('DELETE FROM k3s_server_waits WHERE host = ?'),
      deleteAll: db.prepare('DELETE FROM k3s_server_waits'),
    };
  }

  add(host: string): Promise<void> {
    return this.writer.write(() => {
      if (!this.q.host.get(host)) throw notFound(host);
      this.q.add.run(host, new Date().toISOString());
    });
  }

  async list(): Promise<string[]> {
    return (this.q.list.all() as Array<{ host: string }>).map((r) => r.host);
  }

  delete(host: string): Promise<void> {
    return this.writer.write(() => {
      this.q.delete.run(host);
    });
  }

  take(): Promise<string[]> {
    return this.writer.write(() => {
      const hosts = (this.q.list.all() as Array<{ host: string }>).map((r) => r.host);
      this.q.deleteAll.run();
      return hosts;
    });
  }
}
