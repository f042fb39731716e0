/**
 * @module store/sqlite/database
 * Opening the SQLite file: pragmas, migrations, and the group-commit writer.
 *
 * Durability choice: WAL with `synchronous=FULL`. WAL alone already survives a process kill
 * with no acknowledged commit lost (measured: 15/15 kill -9 runs, deps.md §6); FULL also
 * fsyncs the WAL on every commit, so a granted lease survives an OS crash or power loss too.
 * FULL costs ~4x per commit (8k vs 32k commits/s measured here); group commit (below) pays
 * one fsync for every write that arrived in the same event-loop turn, which is what makes FULL
 * affordable for DHCP bursts.
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
  db.pragma('synchronous = FULL');
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

interface Pending {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: writes queued in one event-loop turn run in a single transaction, each in its
 * own savepoint so one failing write does not undo its neighbours. Every promise resolves only
 * after COMMIT returned, i.e. after the WAL fsync (synchronous=FULL).
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly db: Db) {}

  write<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new KickstandError(ErrorCode.UNAVAILABLE, 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every queued write now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const results: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          try {
            results.push({ ok: true, value: this.db.transaction(p.run)() });
          } catch (e) {
            results.push({ ok: false, value: e });
          }
        }
      })();
    } catch (e) {
      for (const p of batch) p.reject(wrapStoreError(e));
      return;
    }
    batch.forEach((p, i) => (results[i]!.ok ? p.resolve(results[i]!.value) : p.reject(results[i]!.value)));
  }

  close(): void {
    this.flush();
    this.closed = true;
  }
}

export function wrapStoreError(e: unknown): KickstandError {
  if (e instanceof KickstandError) return e;
  return new KickstandError(ErrorCode.STORE_FAILED, `store operation failed: ${(e as Error).message}`, { cause: e });
}
