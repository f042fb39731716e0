/**
 * @module store/sqlite/claims
 * Work claims (migration 7; store.ts ClaimRepo). One daemon uses a SQLite store, so a claim
 * only matters across its restarts; the SQL is the PostgreSQL store's.
 */
import type { ClaimRepo } from '../store';
import type { Db, GroupCommitter } from './database';

export class SqliteClaims implements ClaimRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      take: db.prepare(
        `INSERT INTO work_claims (key, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE work_claims.holder = excluded.holder OR work_claims.expires_at <= ? RETURNING key`,
      ),
      release: db.prepare('DELETE FROM work_claims WHERE key = ? AND holder = ?'),
    };
  }

  take(key: string, holder: string, expiresAt: number): Promise<boolean> {
    return this.writer.write(() => this.q.take.get(key, holder, expiresAt, Date.now()) !== undefined);
  }

  release(key: string, holder: string): Promise<void> {
    return this.writer.write(() => {
      this.q.release.run(key, holder);
    });
  }
}
