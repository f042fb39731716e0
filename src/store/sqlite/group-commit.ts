/**
 * @module store/sqlite/group-commit
 * Group commit for the SQLite store. Queued writes run in a single transaction; every promise
 * resolves only once the WAL holding that transaction has been fsynced.
 *
 * Why not `synchronous=FULL`: FULL fsyncs the WAL inside COMMIT, on the event loop, so every
 * DHCP exchange, TFTP block and HTTP request waits for the disk. Instead the database runs
 * `synchronous=NORMAL` (COMMIT writes the WAL frames to the OS, no fsync) and this class
 * syncs the `-wal` file on libuv's thread pool before it acknowledges the batch, with
 * fdatasync(2) as SQLite's own WAL sync does on Linux (data plus the metadata needed to read
 * it back, such as a grown file's size; not timestamps). An
 * acknowledged write is therefore as durable as under FULL (it survives power loss, not just
 * a process kill), while the event loop keeps serving. Checkpoints under NORMAL fsync the
 * database file themselves, so frames recycled by a WAL restart are already durable there.
 *
 * Pacing: an fsync costs far more CPU than the writes it covers (measured on the bench VM:
 * 50–100 µs of process CPU per write+fsync, against ~10 µs for a lease upsert), so the number
 * of fsyncs, not of writes, sets the cost of a durable DHCP lease. A write to an idle store is
 * committed on the next event-loop turn and synced at once (no added latency). Under load,
 * WAL fsyncs start at most once per `syncIntervalMs` (default 1 ms): writes that arrive during
 * an fsync or within the interval wait, uncommitted, and then share one transaction and one
 * fsync. So at most 1,000 fsyncs a second are paid for whatever the write rate, and a write
 * waits at most about one interval more than before. `maxBatch` queued writes are committed
 * at once (next turn) to bound a transaction's size; they still wait for their fsync.
 *
 * Failure isolation: the batch first runs as one plain transaction (the fast path). If any
 * write throws, that transaction is rolled back and the batch runs again with one savepoint
 * per write, so one failing write (a duplicate MAC, say) does not undo its neighbours.
 */
import type Database from 'better-sqlite3';
import { closeSync, fdatasync, openSync } from 'node:fs';
import { ErrorCode, KickstandError } from '../../errors';

interface Pending {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface GroupCommitOptions {
  /** Least time between the starts of two WAL fsyncs, in ms (0: one commit and fsync per turn). */
  syncIntervalMs?: number;
  /** Queued writes that are committed at once, whatever the interval. */
  maxBatch?: number;
}

export const DEFAULT_SYNC_INTERVAL_MS = 1;
const DEFAULT_MAX_BATCH = 1024;

export class GroupCommitter {
  private queue: Pending[] = [];
  private closed = false;
  private walFd: number | undefined;
  private syncing: Promise<void> | null = null;
  /** performance.now() when the last fsync started. */
  private lastSyncAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Committed batches waiting for the next WAL fsync. */
  private unsynced: Array<{ batch: Pending[]; outcomes: Outcome[] }> = [];
  private readonly intervalMs: number;
  private readonly maxBatch: number;
  private readonly runAll: (batch: Pending[], values: unknown[]) => void;

  constructor(
    private readonly db: Database.Database, // database.ts's Db (it re-exports this file, so no import back)
    opts: GroupCommitOptions = {},
  ) {
    this.intervalMs = opts.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    // One transaction function for every batch (better-sqlite3 caches its BEGIN/COMMIT).
    this.runAll = db.transaction((batch: Pending[], values: unknown[]) => {
      for (const p of batch) values.push(p.run());
    });
  }

  write<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new KickstandError(ErrorCode.UNAVAILABLE, 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.soon();
      else if (this.syncing === null) this.arm();
      // else: the fsync in flight arms the next flush when it completes.
    });
  }

  /** Commits every queued write now; they are acknowledged after the next WAL fsync. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queue;
    if (batch.length > 0) {
      this.queue = [];
      let outcomes: Outcome[];
      try {
        outcomes = this.commitFast(batch) ?? this.commitIsolated(batch);
      } catch (e) {
        const err = wrapStoreError(e);
        for (const p of batch) p.reject(err);
        outcomes = [];
      }
      if (outcomes.length > 0) this.unsynced.push({ batch, outcomes });
    }
    this.sync();
  }

  /** Flush on the next turn (writes queued in this turn join the batch). */
  private soon(): void {
    if (this.immediate !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.flush();
    });
  }

  /** Flush on the next turn if the last fsync started at least an interval ago, else once it has. */
  private arm(): void {
    if (this.immediate !== undefined || this.timer !== undefined) return;
    const wait = this.lastSyncAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.soon();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, Math.ceil(wait));
  }

  /** All writes in one transaction; undefined (rolled back) when any of them throws. */
  private commitFast(batch: Pending[]): Outcome[] | undefined {
    const values: unknown[] = [];
    try {
      this.runAll(batch, values);
    } catch (e) {
      if (batch.length === 1) return [{ ok: false, error: e }];
      return undefined;
    }
    return values.map((value) => ({ ok: true, value }));
  }

  /** One savepoint per write: a failing write is undone alone. */
  private commitIsolated(batch: Pending[]): Outcome[] {
    const outcomes: Outcome[] = [];
    this.db.transaction(() => {
      for (const p of batch) {
        try {
          outcomes.push({ ok: true, value: this.db.transaction(p.run)() });
        } catch (e) {
          outcomes.push({ ok: false, error: e });
        }
      }
    })();
    return outcomes;
  }

  private sync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const done = this.unsynced;
    this.unsynced = [];
    const settle = (err: unknown): void => {
      for (const { batch, outcomes } of done) {
        batch.forEach((p, i) => {
          const o = outcomes[i]!;
          if (err) p.reject(wrapStoreError(err));
          else if (o.ok) p.resolve(o.value);
          else p.reject(o.error);
        });
      }
    };
    if (this.db.memory) {
      settle(null); // nothing to make durable
      return;
    }
    this.walFd ??= openSync(`${this.db.name}-wal`, 'r');
    this.lastSyncAt = performance.now();
    this.syncing = new Promise<void>((resolve) => {
      // Only frames committed before this call are covered: later batches wait in `unsynced`
      // or `queue` for the next fsync.
      fdatasync(this.walFd!, (err) => {
        this.syncing = null;
        settle(err);
        resolve();
        if (this.queue.length > 0 || this.unsynced.length > 0) this.arm();
      });
    });
  }

  /** Commits what is queued, waits for the last fsync, then refuses further writes. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.syncing) {
      await this.syncing;
      this.flush(); // batches committed during that fsync
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.walFd !== undefined) {
      closeSync(this.walFd);
      this.walFd = undefined;
    }
  }
}

export function wrapStoreError(e: unknown): KickstandError {
  if (e instanceof KickstandError) return e;
  return new KickstandError(ErrorCode.STORE_FAILED, `store operation failed: ${(e as Error).message}`, { cause: e });
}
