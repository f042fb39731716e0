/**
 * @module model/rollout
 * A rolling rebuild as the store keeps it (one row of `rollouts`, store.ts RolloutRepo) and
 * the API returns it. The driving is hosts/rollout.ts; the rules (one driver, resume, pruning)
 * are in docs/api.md "Rolling rebuilds" and docs/scale-out.md.
 */

export type RolloutState = 'running' | 'done' | 'failed';

/** How a rollout was asked to run (POST /api/v1/rollouts), kept with it so a resume runs alike. */
export interface RolloutOptions {
  /** Batch size: at most this many hosts of the role are being rebuilt at once. */
  maxUnavailable: number;
  /** Have the BMC boot each host from the network once and power-cycle it. */
  powerCycle: boolean;
  /** How long one batch may take to reach `ready`, ms (from the batch's start). */
  timeoutMs: number;
}

export interface Rollout {
  id: string;
  role: string;
  request: RolloutOptions;
  state: RolloutState;
  batches: string[][];
  /** Index of the batch in progress (or the last one once finished). */
  batch: number;
  /** Hosts reimaged and ready so far (whole batches). */
  done: string[];
  /** Hosts of the current batch whose reimage this rollout has issued. */
  reimaged: string[];
  failedHost: string | null;
  reason: string | null;
  /** Number of `rollout.*` events recorded so far (grows with every change of the above). */
  step: number;
  startedAt: string;
  /** When the current batch started: its timeout counts from here, also across a resume. */
  batchStartedAt: string;
  finishedAt: string | null;
  updatedAt: string;
  /** The daemon driving it (the last one, once finished): store.daemonName, `local` on SQLite. */
  daemon: string;
}
