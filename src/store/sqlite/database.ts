/**
 * @module store/sqlite/database
 * Opening the SQLite file: pragmas and migrations.
 *
 * Durability choice: WAL, `synchronous=NORMAL`, plus our own fsync of the WAL before any write
 * is acknowledged (group-commit.ts). WAL alone survives a process kill with no acknowledged
 * commit lost (measured: 15/15 kill -9 runs, deps.md §6); the extra fsync makes an
 * acknowledged write survive an OS crash or power loss too — FULL's guarantee — without
 * blocking the event loop on the disk, and one fsync covers every write of a batch.
 */
import Database from 'better-sqlite3';
import { KickstandError, ErrorCode } from '../../errors';
import { MIGRATIONS, type Migration } from './migrations';

export type Db = Database.Database;

export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  let db: Db;
  try {
    db = new Database(path);
  } catch (e) {
    throw new KickstandError(ErrorCode.STORE_FAILED, `cannot open database ${path}: ${(e as Error).message}`, {
      cause: e,
      fix: 'check that the state directory exists and is writable by the kickstand user',
    });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL'); // + the WAL fsync in group-commit.ts before acknowledging
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  );
  const known = new Set(migrations.map((m) => m.version));
  const newer = [...applied].filter((v) => !known.has(v));
  if (newer.length > 0) {
    throw new KickstandError(
      ErrorCode.STORE_FAILED,
      `database has schema version(s) ${newer.join(', ')} unknown to this Kickstand`,
      { fix: 'run the Kickstand version that wrote this database, or restore a backup' },
    );
  }
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
  }
}

export { GroupCommitter, wrapStoreError } from './group-commit';
