import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import { migrate } from '../../src/store/sqlite/database';
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
      const mk = (name: string, mac: string) => s.hosts.create({ name, macs: [mac], profile: 'p', role: 'agent', state: 'registered' });
      const results = await Promise.allSettled([mk('a', '52:54:00:00:00:01'), mk('b', '52:54:00:00:00:01'), mk('c', '52:54:00:00:00:03'), s.events.append({ kind: 'x', message: 'y' })]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      assert.equal((results[1] as PromiseRejectedResult).reason.code, 'KS_MAC_IN_USE');
      assert.deepEqual((await s.hosts.list()).map((h) => h.name), ['a', 'c']);
      await s.close();
      await assert.rejects(s.settings.set('k', 'v'), { code: 'KS_UNAVAILABLE' });
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
    assert.throws(() => migrate(db, ms.slice(1)), { code: 'KS_STORE_FAILED', message: /schema version\(s\) 2 unknown/ });
    db.close();
  });
});
