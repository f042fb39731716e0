/**
 * @module store/sqlite
 * The embedded store: one SQLite file in the state directory (WAL, group commit acknowledged
 * after a WAL fsync). See group-commit.ts for the durability reasoning.
 */
import type { Store } from '../store';
import { GroupCommitter, openDatabase } from './database';
import { SqliteBmc } from './bmc';
import { SqliteEvents } from './events';
import { SqliteHosts } from './hosts';
import { SqliteLeases } from './leases';
import { SqliteMesh } from './mesh';
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
    mesh: new SqliteMesh(db, writer),
    bmc: new SqliteBmc(db, writer),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      db.close();
    },
  };
}
