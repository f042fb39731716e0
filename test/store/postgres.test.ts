/**
 * The store contract on PostgreSQL: a private server (test/helpers/postgres.ts), a fresh
 * schema for every opened store.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres';
import { PG_MIGRATIONS } from '../../src/store/postgres/migrations';
import { missing, IN_CI } from '../helpers/env';
import { pgBinDir, PrivatePostgres } from '../helpers/postgres';
import { storeContract } from './contract';

const bin = pgBinDir();
function reasonToSkip(): string | undefined {
  if (bin !== undefined) return missing({ binaries: ['runuser'] });
  const why = 'needs the PostgreSQL server binaries (Debian postgresql); .ci/run installs them';
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${why}`);
  return why;
}
const why = reasonToSkip();

if (why !== undefined) {
  describe('store contract: postgresql', () => {
    it('runs against a private PostgreSQL server', (t) => t.skip(why));
  });
} else {
  const server = new PrivatePostgres(bin!);
  let n = 0;
  before(() => server.start());
  after(() => server.stop());

  storeContract('postgresql', async () => {
    const schema = `contract_${process.pid}_${n++}`;
    const admin = new pg.Client(server.connection());
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    return openPostgresStore({ ...server.connection(), options: `-c search_path=${schema}` });
  });

  describe('postgresql specifics', () => {
    it('migrates once when several daemons open the same database at once', async () => {
      const opts = { ...server.connection(), options: '-c search_path=public' };
      const stores = await Promise.all([openPostgresStore(opts), openPostgresStore(opts), openPostgresStore(opts)]);
      const c = new pg.Client(server.connection());
      await c.connect();
      const rows = (await c.query('SELECT version FROM public.schema_migrations ORDER BY version')).rows.map((r) => r.version);
      await c.end();
      assert.deepEqual(rows, PG_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
      await Promise.all(stores.map((s) => s.close()));
    });
  });
}
