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
      const rows = (await c.query('SELECT version FROM public.schema_migrations ORDER BY version')).rows.map(
        (r) => r.version,
      );
      await c.end();
      assert.deepEqual(
        rows,
        PG_MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
      );
      await Promise.all(stores.map((s) => s.close()));
    });

    it("loads the host lookup at open and follows another daemon's host writes (LISTEN/NOTIFY)", async () => {
      const schema = `lookup_${process.pid}`;
      const admin = new pg.Client(server.connection());
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      const opts = { ...server.connection(), options: `-c search_path=${schema}` };
      const until = async (what: string, ok: () => boolean): Promise<void> => {
        for (let i = 0; i < 200 && !ok(); i += 1) await new Promise((r) => setTimeout(r, 25));
        assert.ok(ok(), what);
      };
      const a = await openPostgresStore(opts);
      await a.hosts.create({
        name: 'a',
        macs: ['52:54:00:00:00:01'],
        profile: 'p',
        role: 'agent',
        ipv4: '198.18.0.9',
        state: 'registered',
      });
      const b = await openPostgresStore(opts);
      try {
        assert.equal(b.hostLookup.byMac('52:54:00:00:00:01')?.name, 'a', 'loaded at open');
        assert.equal(b.hostLookup.byIp(((198 * 256 + 18) * 256 + 0) * 256 + 9)?.name, 'a');
        await a.hosts.create({
          name: 'c',
          macs: ['52:54:00:00:00:03'],
          profile: 'p',
          role: 'agent',
          state: 'registered',
        });
        assert.equal(a.hostLookup.byMac('52:54:00:00:00:03')?.name, 'c', 'its own write: seen at once');
        await until("the other daemon's create", () => b.hostLookup.byMac('52:54:00:00:00:03')?.name === 'c');
        await a.hosts.update('c', { ipv4: '198.18.0.10', macs: ['52:54:00:00:00:04'] });
        await until("the other daemon's update", () => b.hostLookup.byMac('52:54:00:00:00:04')?.name === 'c');
        assert.equal(b.hostLookup.byMac('52:54:00:00:00:03'), undefined, 'the old MAC is gone');
        assert.equal(b.hostLookup.byIp(((198 * 256 + 18) * 256 + 0) * 256 + 10)?.name, 'c');
        await a.hosts.delete('a');
        await until("the other daemon's delete", () => b.hostLookup.byMac('52:54:00:00:00:01') === undefined);
        // A refused write notifies nobody (the NOTIFY is part of the rolled-back transaction).
        await assert.rejects(
          a.hosts.create({ name: 'd', macs: ['52:54:00:00:00:04'], profile: 'p', role: 'agent', state: 'registered' }),
        );
        assert.equal(b.hostLookup.byMac('52:54:00:00:00:04')?.name, 'c');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}
