import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import { migrate, openDatabase } from '../../src/store/sqlite/database';
import { Checkpointer, SAFETY_NET_PAGES } from '../../src/store/sqlite/checkpointer';
import { MIGRATIONS } from '../../src/store/sqlite/migrations';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations';
import { storeContract } from './contract';

storeContract('sqlite :memory:', async () => openSqliteStore(':memory:'));

describe('sqlite specifics', () => {
  it('uses WAL (synchronous=NORMAL plus its own WAL fsync) and survives reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-sqlite-'));
    try {
      const file = join(dir, 'k.db');
      const s = openSqliteStore(file);
      await s.settings.set('a', 'b');
      await s.close();
      const db = new Database(file);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
      db.close();
      const s2 = openSqliteStore(file);
      assert.equal(await s2.settings.get('a'), 'b');
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failing write in a group commit does not undo the others in its batch (file-backed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-sqlite-'));
    try {
      const s = openSqliteStore(join(dir, 'k.db'));
      const mk = (name: string, mac: string) =>
        s.hosts.create({ name, macs: [mac], profile: 'p', role: 'agent', state: 'registered' });
      const results = await Promise.allSettled([
        mk('a', '52:54:00:00:00:01'),
        mk('b', '52:54:00:00:00:01'),
        mk('c', '52:54:00:00:00:03'),
        s.events.append({ kind: 'x', message: 'y' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.equal((results[1] as PromiseRejectedResult).reason.code, 'KS_MAC_IN_USE');
      assert.deepEqual(
        (await s.hosts.list()).map((h) => h.name),
        ['a', 'c'],
      );
      await s.close();
      await assert.rejects(s.settings.set('k', 'v'), { code: 'KS_UNAVAILABLE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads the host lookup from an existing file at open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-sqlite-'));
    try {
      const file = join(dir, 'k.db');
      const s = openSqliteStore(file);
      await s.hosts.create({
        name: 'a',
        macs: ['52:54:00:00:00:01'],
        profile: 'p',
        role: 'agent',
        ipv4: '198.18.0.9',
        state: 'registered',
      });
      await s.close();
      const s2 = openSqliteStore(file);
      assert.equal(s2.hostLookup?.byMac('52:54:00:00:00:01')?.name, 'a');
      assert.equal(s2.hostLookup?.byIp(((198 * 256 + 18) * 256 + 0) * 256 + 9)?.name, 'a');
      await s2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('WAL fsync pacing (group-commit.ts)', () => {
    type Fsync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void;
    // group-commit.ts calls fs.fdatasync through the module object, so the test can watch it.
    const fsm = fs as { fdatasync: Fsync };

    /** Opens a file store plus a read-only connection that sees committed rows only. */
    function open(opts: { syncIntervalMs?: number; maxBatch?: number }) {
      const dir = mkdtempSync(join(tmpdir(), 'ks-sqlite-'));
      const file = join(dir, 'k.db');
      const store = openSqliteStore(file, opts);
      const reader = new Database(file, { readonly: true });
      const committed = () =>
        new Set((reader.prepare('SELECT key FROM settings').all() as Array<{ key: string }>).map((r) => r.key));
      // Committed keys at the start of each fsync: a write may be acknowledged only after an
      // fsync that began once it was committed.
      const atSync: Set<string>[] = [];
      const orig = fsm.fdatasync;
      fsm.fdatasync = (fd, cb) => {
        atSync.push(committed());
        orig(fd, cb);
      };
      const acked: string[] = [];
      const set = (k: string) =>
        store.settings.set(k, 'v').then(() => {
          assert.ok(
            atSync.some((keys) => keys.has(k)),
            `${k} acknowledged before an fsync covered it`,
          );
          acked.push(k);
        });
      const cleanup = () => {
        fsm.fdatasync = orig;
        reader.close();
        rmSync(dir, { recursive: true, force: true });
      };
      return { store, committed, atSync, acked, set, cleanup };
    }
    const turn = () => new Promise((r) => setImmediate(r));

    it('an idle store commits and syncs at once; writes within the interval wait, uncommitted, and share one transaction and one fsync', async () => {
      const t = open({ syncIntervalMs: 60_000 });
      try {
        await t.set('a');
        assert.equal(t.atSync.length, 1);
        const rest: Promise<void>[] = [];
        for (let i = 0; i < 10; i += 1) {
          rest.push(t.set(`b${i}`));
          await turn();
        }
        assert.deepEqual(t.acked, ['a'], 'nothing acknowledged within the interval');
        assert.deepEqual([...t.committed()], ['a'], 'nor committed');
        assert.equal(t.atSync.length, 1);
        await t.store.close(); // flushes now: one transaction, one fsync
        await Promise.all(rest);
        assert.equal(t.atSync.length, 2);
        assert.equal(t.acked.length, 11);
      } finally {
        t.cleanup();
      }
    });

    it('maxBatch queued writes are committed and synced on the next turn, interval or not', async () => {
      const t = open({ syncIntervalMs: 60_000, maxBatch: 4 });
      try {
        await t.set('a');
        const four = ['c1', 'c2', 'c3', 'c4'].map((k) => t.set(k));
        await turn();
        await turn();
        assert.equal(t.committed().size, 5, 'the full batch is committed');
        assert.equal(t.atSync.length, 2, 'and its fsync started');
        await Promise.all(four);
        assert.equal(t.acked.length, 5);
        await t.store.close();
      } finally {
        t.cleanup();
      }
    });

    it('syncIntervalMs 0: one commit and fsync per event-loop turn, each write acknowledged after its own fsync', async () => {
      const t = open({ syncIntervalMs: 0 });
      try {
        const all = [t.set('a'), t.set('b')];
        await Promise.all(all);
        await Promise.all([t.set('c')]);
        assert.equal(t.acked.length, 3);
        assert.equal(t.atSync.length, 2, 'a and b shared a turn; c had its own');
        await t.store.close();
      } finally {
        t.cleanup();
      }
    });
  });

  it("checkpoints the WAL on a worker thread, not in the writer's COMMIT (checkpointer.ts)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-sqlite-'));
    try {
      const file = join(dir, 'k.db');
      const db = openDatabase(file);
      const cp = new Checkpointer(db, { periodMs: 60_000 });
      assert.equal(
        db.pragma('wal_autocheckpoint', { simple: true }),
        SAFETY_NET_PAGES,
        'the writer only checkpoints as a safety net',
      );
      const before = statSync(file).size;
      db.exec('CREATE TABLE big (x BLOB)');
      const ins = db.prepare('INSERT INTO big VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 300; i += 1) ins.run(randomBytes(4000));
      })();
      assert.equal(statSync(file).size, before, 'committed pages are still only in the WAL');
      await cp.checkpointNow();
      assert.ok(
        statSync(file).size > before + 300 * 4000,
        `the worker copied them into the database file (${before} → ${statSync(file).size} bytes)`,
      );
      await cp.stop();
      assert.equal(
        db.pragma('wal_autocheckpoint', { simple: true }),
        1000,
        'after stop, SQLite checkpoints in COMMIT again',
      );
      assert.equal((db.prepare('SELECT count(*) AS n FROM big').get() as { n: number }).n, 300);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has the same schema versions as the PostgreSQL store', () => {
    assert.deepEqual(
      PG_MIGRATIONS.map((m) => [m.version, m.name]),
      [...MIGRATIONS].sort((a, b) => a.version - b.version).map((m) => [m.version, m.name]),
    );
  });

  it('applies migrations once, in order, and refuses a database from a newer version', () => {
    const db = new Database(':memory:');
    const order: string[] = [];
    const ms = [
      { version: 2, name: 'two', sql: "INSERT INTO t VALUES ('two')" },
      { version: 1, name: 'one', sql: "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('one')" },
    ];
    migrate(db, ms);
    migrate(db, ms);
    for (const r of db.prepare('SELECT v FROM t').all() as Array<{ v: string }>) order.push(r.v);
    assert.deepEqual(order, ['one', 'two']);
    assert.throws(() => migrate(db, ms.slice(1)), {
      code: 'KS_STORE_FAILED',
      message: /schema version\(s\) 2 unknown/,
    });
    db.close();
  });
});
