/**
 * @module store/sqlite/checkpointer
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside the COMMIT
 * that crosses `wal_autocheckpoint` pages, on the event loop: it copies the WAL's pages into
 * the database file and, under `synchronous=NORMAL`, fsyncs the database file before it
 * returns. On the shared bench VM under disk pressure such COMMITs blocked the event loop for
 * 50–300 ms (bench/dhcp-micro.ts with its commits timed; without checkpoints the longest was
 * ~15 ms) and, in one bench/dhcp.sh trial with `--checkpoint-period 0`, for 896 ms: long enough
 * for a DHCP burst to overflow the socket buffer (bench/RESULTS.md, DHCP).
 *
 * So the daemon's connection checkpoints only as a safety net (`SAFETY_NET_PAGES`, should
 * this thread fall behind or die) and a second connection on a worker thread runs
 * `PRAGMA wal_checkpoint(PASSIVE)` every `periodMs`. PASSIVE never blocks the writer and
 * never waits for it (https://sqlite.org/c3ref/wal_checkpoint_v2.html). Durability is
 * SQLite's: the checkpointing connection runs `synchronous=NORMAL`, so it syncs the WAL
 * before copying and the database file before it marks frames backfilled; the writer only
 * restarts (overwrites) the WAL after every frame was backfilled. Acknowledged writes are
 * durable through group-commit.ts's WAL fsync either way.
 */
import { Worker } from 'node:worker_threads';
import type { Db } from './database';

/** The daemon connection's own auto-checkpoint threshold while the worker runs (pages, ~64 MiB). */
export const SAFETY_NET_PAGES = 16_000;
/** SQLite's default, restored if the worker stops unexpectedly. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
export const DEFAULT_CHECKPOINT_PERIOD_MS = 100;

// Plain JavaScript run with `eval: true` so that it works the same from TypeScript sources
// (tsx), compiled output and bundles; the driver is required by absolute path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: next period */ } };
const timer = setInterval(checkpoint, workerData.periodMs);
parentPort.on('message', (m) => {
  if (m.type === 'now') { checkpoint(); parentPort.postMessage({ type: 'done', id: m.id }); }
  else if (m.type === 'stop') { clearInterval(timer); db.close(); parentPort.close(); }
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private stopped = false;
  private nextId = 0;
  private readonly waiting = new Map<number, () => void>();

  constructor(
    private readonly db: Db,
    opts: { periodMs?: number } = {},
  ) {
    db.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve('better-sqlite3'),
        path: db.name,
        periodMs: opts.periodMs ?? DEFAULT_CHECKPOINT_PERIOD_MS,
      },
    });
    this.worker.unref(); // never keeps the process alive on its own
    this.worker.on('message', (m: { type: string; id: number }) => {
      if (m.type === 'done') {
        this.waiting.get(m.id)?.();
        this.waiting.delete(m.id);
      }
    });
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => this.fallBack());
  }

  /** Runs one checkpoint now and resolves when it is done (tests, diagnostics). */
  checkpointNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const id = (this.nextId += 1);
    this.worker.ref(); // keep the process alive while someone waits for the answer
    return new Promise<void>((resolve) => {
      this.waiting.set(id, () => {
        if (this.waiting.size <= 1) this.worker.unref();
        resolve();
      });
      this.worker.postMessage({ type: 'now', id });
    });
  }

  /** Stops the worker and closes its connection; the daemon's connection checkpoints again. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // the caller awaits the exit
    this.worker.postMessage({ type: 'stop' });
    await exited;
  }

  /** The worker is gone: SQLite's own automatic checkpoint takes over again. */
  private fallBack(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // closing
    }
  }
}
