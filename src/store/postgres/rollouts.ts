/**
 * @module store/postgres/rollouts
 * Rolling rebuilds in PostgreSQL (store.ts RolloutRepo): the SQLite store's SQL. The driver
 * fence is the `daemon = $n` of the progress UPDATE: after another daemon adopted a rollout
 * (holding its claim), the former driver's next write changes no row and it stops.
 */
import type pg from 'pg';
import type { Rollout } from '../../model/rollout';
import {
  PROGRESS_COLUMNS,
  progressSet,
  progressValues,
  ROLLOUT_COLUMNS,
  rolloutValues,
  toRollout,
  type RolloutRow,
} from '../rollout-rows';
import type { RolloutRepo } from '../store';
import { q } from './database';

export class PgRollouts implements RolloutRepo {
  constructor(private readonly pool: pg.Pool) {}

  async create(r: Rollout): Promise<void> {
    // A duplicate id fails on the primary key: KS_CONFLICT (database.ts mapPgError).
    await q(
      this.pool,
      `INSERT INTO rollouts (${ROLLOUT_COLUMNS.join(', ')}) VALUES (${ROLLOUT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      rolloutValues(r, (b) => b),
    );
  }

  async get(id: string): Promise<Rollout | undefined> {
    const [r] = await q<RolloutRow>(this.pool, 'SELECT * FROM rollouts WHERE id = $1', [id]);
    return r && toRollout(r);
  }

  async list(query: { running?: boolean } = {}): Promise<Rollout[]> {
    const rows = await q<RolloutRow>(
      this.pool,
      `SELECT * FROM rollouts ${query.running ? "WHERE state = 'running'" : ''} ORDER BY started_at DESC, id COLLATE "C" DESC`,
    );
    return rows.map(toRollout);
  }

  async save(r: Rollout): Promise<boolean> {
    const n = PROGRESS_COLUMNS.length;
    const rows = await q(
      this.pool,
      `UPDATE rollouts SET ${progressSet((i) => `$${i}`)} WHERE id = $${n + 1} AND daemon = $${n + 2} RETURNING id`,
      progressValues(r),
    );
    return rows.length === 1;
  }

  async adopt(id: string, daemon: string, at: string): Promise<Rollout | undefined> {
    const [r] = await q<RolloutRow>(
      this.pool,
      "UPDATE rollouts SET daemon = $1, updated_at = $2 WHERE id = $3 AND state = 'running' RETURNING *",
      [daemon, at, id],
    );
    return r && toRollout(r);
  }

  async prune(keep: number): Promise<number> {
    const rows = await q(
      this.pool,
      `DELETE FROM rollouts WHERE state <> 'running' AND id NOT IN
         (SELECT id FROM rollouts WHERE state <> 'running' ORDER BY finished_at DESC, id COLLATE "C" DESC LIMIT $1) RETURNING id`,
      [Math.max(0, keep)],
    );
    return rows.length;
  }
}
