/**
 * @module store/sqlite/rollouts
 * Rolling rebuilds (migration 8; store.ts RolloutRepo). One daemon uses a SQLite store, so the
 * driver fence only matters across its restarts; the SQL is the PostgreSQL store's.
 */
import { ErrorCode, KickstandError } from '../../errors';
import type { Rollout } from '../../model/rollout';
import {
  progressSet,
  progressValues,
  ROLLOUT_COLUMNS,
  rolloutValues,
  toRollout,
  type RolloutRow,
} from '../rollout-rows';
import type { RolloutRepo } from '../store';
import type { Db, GroupCommitter } from './database';

export class SqliteRollouts implements RolloutRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      exists: db.prepare('SELECT 1 FROM rollouts WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO rollouts (${ROLLOUT_COLUMNS.join(', ')}) VALUES (${ROLLOUT_COLUMNS.map(() => '?').join(', ')})`,
      ),
      get: db.prepare('SELECT * FROM rollouts WHERE id = ?'),
      list: db.prepare('SELECT * FROM rollouts ORDER BY started_at DESC, id DESC'),
      running: db.prepare("SELECT * FROM rollouts WHERE state = 'running' ORDER BY started_at DESC, id DESC"),
      save: db.prepare(`UPDATE rollouts SET ${progressSet(() => '?')} WHERE id = ? AND daemon = ?`),
      adopt: db.prepare(
        "UPDATE rollouts SET daemon = ?, updated_at = ? WHERE id = ? AND state = 'running' RETURNING *",
      ),
      prune: db.prepare(
        `DELETE FROM rollouts WHERE state <> 'running' AND id NOT IN
           (SELECT id FROM rollouts WHERE state <> 'running' ORDER BY finished_at DESC, id DESC LIMIT ?)`,
      ),
    };
  }

  create(r: Rollout): Promise<void> {
    return this.writer.write(() => {
      if (this.q.exists.get(r.id)) throw new KickstandError(ErrorCode.CONFLICT, `rollout ${r.id} exists already`);
      this.q.insert.run(...rolloutValues(r, (b) => (b ? 1 : 0)));
    });
  }

  async get(id: string): Promise<Rollout | undefined> {
    const r = this.q.get.get(id) as RolloutRow | undefined;
    return r && toRollout(r);
  }

  async list(q: { running?: boolean } = {}): Promise<Rollout[]> {
    return ((q.running ? this.q.running : this.q.list).all() as RolloutRow[]).map(toRollout);
  }

  save(r: Rollout): Promise<boolean> {
    return this.writer.write(() => this.q.save.run(...progressValues(r)).changes === 1);
  }

  adopt(id: string, daemon: string, at: string): Promise<Rollout | undefined> {
    return this.writer.write(() => {
      const r = this.q.adopt.get(daemon, at, id) as RolloutRow | undefined;
      return r && toRollout(r);
    });
  }

  prune(keep: number): Promise<number> {
    return this.writer.write(() => this.q.prune.run(Math.max(0, keep)).changes);
  }
}
