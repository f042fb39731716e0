/**
 * @module store/rollout-rows
 * The `rollouts` table's row (migration 8, the same columns in both stores) and its mapping
 * to the model. SQLite hands JSON columns back as text and booleans as 0/1, PostgreSQL as
 * parsed JSONB and booleans: the mapping takes either.
 */
import type { Rollout, RolloutState } from '../model/rollout';

export interface RolloutRow {
  id: string;
  role: string;
  max_unavailable: number;
  power_cycle: number | boolean;
  timeout_ms: number;
  state: string;
  batches: string | string[][];
  batch: number;
  done: string | string[];
  reimaged: string | string[];
  failed_host: string | null;
  reason: string | null;
  step: number;
  started_at: string;
  batch_started_at: string;
  finished_at: string | null;
  updated_at: string;
  daemon: string;
}

/** The columns in the order {@link rolloutValues} gives them (INSERT). */
export const ROLLOUT_COLUMNS = [
  'id',
  'role',
  'max_unavailable',
  'power_cycle',
  'timeout_ms',
  'state',
  'batches',
  'batch',
  'done',
  'reimaged',
  'failed_host',
  'reason',
  'step',
  'started_at',
  'batch_started_at',
  'finished_at',
  'updated_at',
  'daemon',
] as const;

const json = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function toRollout(r: RolloutRow): Rollout {
  return {
    id: r.id,
    role: r.role,
    request: { maxUnavailable: r.max_unavailable, powerCycle: Boolean(r.power_cycle), timeoutMs: r.timeout_ms },
    state: r.state as RolloutState,
    batches: json(r.batches),
    batch: r.batch,
    done: json(r.done),
    reimaged: json(r.reimaged),
    failedHost: r.failed_host,
    reason: r.reason,
    step: r.step,
    startedAt: r.started_at,
    batchStartedAt: r.batch_started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    daemon: r.daemon,
  };
}

/** Values for {@link ROLLOUT_COLUMNS}; `bool` maps powerCycle (SQLite: 0/1, PostgreSQL: boolean). */
export function rolloutValues(r: Rollout, bool: (b: boolean) => unknown): unknown[] {
  return [
    r.id,
    r.role,
    r.request.maxUnavailable,
    bool(r.request.powerCycle),
    r.request.timeoutMs,
    r.state,
    JSON.stringify(r.batches),
    r.batch,
    JSON.stringify(r.done),
    JSON.stringify(r.reimaged),
    r.failedHost,
    r.reason,
    r.step,
    r.startedAt,
    r.batchStartedAt,
    r.finishedAt,
    r.updatedAt,
    r.daemon,
  ];
}

/** Values of a progress write (save): {@link PROGRESS_COLUMNS}, then the id and the driver. */
export function progressValues(r: Rollout): unknown[] {
  return [
    r.state,
    r.batch,
    JSON.stringify(r.done),
    JSON.stringify(r.reimaged),
    r.failedHost,
    r.reason,
    r.step,
    r.batchStartedAt,
    r.finishedAt,
    r.updatedAt,
    r.id,
    r.daemon,
  ];
}

/** The columns a progress write (save) sets, in the order {@link progressValues} gives them. */
export const PROGRESS_COLUMNS = [
  'state',
  'batch',
  'done',
  'reimaged',
  'failed_host',
  'reason',
  'step',
  'batch_started_at',
  'finished_at',
  'updated_at',
] as const;

/** The UPDATE's SET list for {@link progressValues}; `p(i)` renders the i-th (1-based) placeholder. */
export function progressSet(p: (i: number) => string): string {
  return PROGRESS_COLUMNS.map((c, i) => `${c} = ${p(i + 1)}`).join(', ');
}
