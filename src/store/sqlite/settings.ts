/**
 * @module store/sqlite/settings
 * Daemon-wide key/value settings (cluster token, mesh keys' public halves, …).
 */
import type { SettingRepo } from '../store';
import type { Db, GroupCommitter } from './database';

export class SqliteSettings implements SettingRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      get: db.prepare('SELECT value FROM settings WHERE key = ?'),
      set: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      delete: db.prepare('DELETE FROM settings WHERE key = ?'),
    };
  }

  async get(key: string): Promise<string | undefined> {
    return (this.q.get.get(key) as { value: string } | undefined)?.value;
  }

  set(key: string, value: string): Promise<void> {
    return this.writer.write(() => {
      this.q.set.run(key, value);
    });
  }

  delete(key: string): Promise<void> {
    return this.writer.write(() => {
      this.q.delete.run(key);
    });
  }
}
