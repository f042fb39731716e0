/**
 * @module store/sqlite
 * The embedded store: one SQLite file in the state directory (WAL, group commit acknowledged
 * after a WAL fsync, checkpoints on a worker thread). See group-commit.ts for the durability
 * reasoning and checkpointer.ts for the checkpoints.
 */
import type { Store } from '../store';
import { GroupCommitter, openDatabase } from './database';
import { Checkpointer } from './checkpointer';
import type { GroupCommitOptions } from './group-commit';

export interface SqliteStoreOptions extends GroupCommitOptions {
  /** Period of the worker-thread WAL checkpoints (checkpointer.ts); 0 = SQLite's own, in COMMIT. */
  checkpointPeriodMs?: number;
}
import { SqliteBmc } from './bmc';
import { SqliteEvents } from './events';
import { SqliteHosts } from './hosts';
import { SqliteLeases } from './leases';
import { SqliteMesh } from './mesh';
import { SqliteServerWaits } from './server-waits';
import { SqliteClaims } from './claims';
import { SqliteRollouts } from './rollouts';
import { SqliteSettings } from './settings';
import { SqliteTokens } from './tokens';

export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Store {
  const db = openDatabase(path);
  const writer = new GroupCommitter(db, opts);
  const checkpointer =
    db.memory || opts.checkpointPeriodMs === 0
      ? undefined
      : new Checkpointer(db, { periodMs: opts.checkpointPeriodMs });
  const hosts = new SqliteHosts(db, writer);
  const events = new SqliteEvents(db, writer);
  let closed = false;
  return {
    kind: 'sqlite',
    hosts,
    hostLookup: hosts.lookup,
    events,
    leases: new SqliteLeases(db, writer),
    tokens: new SqliteTokens(db, writer, events),
    settings: new SqliteSettings(db, writer),
    mesh: new SqliteMesh(db, writer),
    bmc: new SqliteBmc(db, writer),
    serverWaits: new SqliteServerWaits(db, writer),
    claims: new SqliteClaims(db, writer),
    rollouts: new SqliteRollouts(db, writer),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      await checkpointer?.stop(); // then the last connection's close checkpoints and removes the WAL
      db.close();
    },
  };
}
