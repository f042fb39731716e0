/**
 * @module store/sqlite
 * The embedded store: one SQLite file in the state directory (WAL, synchronous=FULL,
 * group commit). See database.ts for the durability reasoning.
 */
import type { Store } from '../store';
import { GroupCommitter, openDatabase } from './database';
import { SqliteEvents } from './events';
import { SqliteHosts } from './hosts';
import { SqliteLeases } from './leases';
import { SqliteSettings } from './settings';
import { SqliteTokens } from './tokens';

export function openSqliteStore(path: string): Store {
  const db = openDatabase(path);
  const writer = new GroupCommitter(db);
  let closed = false;
  return {
    kind: 'sqlite',
    hosts: new SqliteHosts(db, writer),
    events: new SqliteEvents(db, writer),
    leases: new SqliteLeases(db, writer),
    tokens: new SqliteTokens(db, writer),
    settings: new SqliteSettings(db, writer),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      writer.close();
      db.close();
    },
  };
}
