/**
 * @module store/sqlite/group-commit
 * Group commit for the SQLite store. Writes queued in one event-loop turn run in a single
 * transaction; every promise resolves only once the WAL holding that transaction has been
 * fsynced.
 *
 * Why not `synchronous=FULL`: FULL fsyncs the WAL inside COMMIT, on the event loop, so every
 * DHCP exchange, TFTP block and HTTP request waits for the disk. Instead the database runs
 * `synchronous=NORMAL` (COMMIT writes the WAL frames to the OS, no fsync) and this class
 * fsyncs the `-wal` file on libuv's thread pool before it acknowledges the batch. An
 * acknowledged write is therefore as durable as under FULL (it survives power loss, not just
 * a process kill), while the event loop keeps serving; writes arriving during an fsync form
 * the next batch and share the next fsync. Checkpoints under NORMAL fsync the database file
 * themselves, so frames recycled by a WAL restart are already durable there.
 *
 * Failure isolation: the batch first runs as one plain transaction (the fast path). If any
 * write throws, that transaction is rolled back and the batch runs again with one savepoint
 * per write, so one failing write (a duplicate MAC, say) does not undo its neighbours.
 */
import { closeSync, fsync, openSync } from 'node:fs';
import { ErrorCode, KickstandError } from '../../errors';
import type { Db } from './database';

interface Pending {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private walFd: number | undefined;
  private syncing: Promise<void> | null = null;
  /** Committed batches waiting for the next WAL fsync. */
  private unsynced: Array<{ batch: Pending[]; outcomes: Outcome[] }> = [];

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

  /** Commits every queued write now; they are acknowledged after the next WAL fsync. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.commitFast(batch) ?? this.commitIsolated(batch);
    } catch (e) {
      const err = wrapStoreError(e);
      for (const p of batch) p.reject(err);
      return;
    }
    this.unsynced.push({ batch, outcomes });
    this.sync();
  }

  /** All writes in one transaction; undefined (rolled back) when any of them throws. */
  private commitFast(batch: Pending[]): Outcome[] | undefined {
    const values: unknown[] = [];
    const r = this.db.transaction(() => {
      for (const p of batch) values.push(p.run());
    });
    try {
      r();
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
    this.syncing = new Promise<void>((resolve) => {
      fsync(this.walFd!, (err) => {
        this.syncing = null;
        settle(err);
        resolve();
        this.sync();
      });
    });
  }

  /** Commits what is queued, waits for the last fsync, then refuses further writes. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    while (this.syncing) await this.syncing;
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
