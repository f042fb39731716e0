/**
 * @module store/postgres
 * The PostgreSQL store, for several Kickstand daemons sharing one database. It passes the same
 * contract suite as the SQLite store (test/store/postgres.test.ts). Its host lookup index is
 * loaded at open and follows every daemon's host writes (store/postgres/host-feed.ts).
 *
 * {@link createPostgresStore} builds it without connecting (the daemon is wired synchronously,
 * src/daemon/); {@link PostgresStore.open} migrates and loads, before any service starts.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Store } from '../store';
import { createPool, migrate } from './database';
import { HostFeed } from './host-feed';
import { PgHosts } from './hosts';
import { PgMesh } from './mesh';
import { PG_MIGRATIONS } from './migrations';
import { PgRollouts } from './rollouts';
import { PgBmc, PgClaims, PgEvents, PgLeases, PgServerWaits, PgSettings, PgTokens } from './records';

export interface PostgresStore extends Store {
  /** Migrates the schema (once across daemons) and loads the host lookup. */
  open(): Promise<void>;
}

/** `daemonName`: recorded on this daemon's events (store.daemonName, docs/scale-out.md). */
export function createPostgresStore(config: pg.PoolConfig, opts: { daemonName?: string } = {}): PostgresStore {
  const pool = createPool(config);
  const hosts = new PgHosts(pool);
  const events = new PgEvents(pool, randomUUID(), opts.daemonName ?? null);
  const feed = new HostFeed(config, {
    host: (name) => hosts.refresh(name),
    reload: () => hosts.load(),
    event: (origin, id) => events.arrived(origin, id),
  });
  let closed = false;
  return {
    kind: 'postgresql',
    hosts,
    hostLookup: hosts.lookup,
    events,
    leases: new PgLeases(pool),
    tokens: new PgTokens(pool, events),
    settings: new PgSettings(pool),
    mesh: new PgMesh(pool),
    bmc: new PgBmc(pool),
    serverWaits: new PgServerWaits(pool),
    claims: new PgClaims(pool),
    rollouts: new PgRollouts(pool),
    async open() {
      await migrate(pool, PG_MIGRATIONS);
      await feed.start(); // listening before the load: no write falls between them
      await hosts.load();
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await feed.stop();
      await pool.end();
    },
  };
}

export async function openPostgresStore(config: pg.PoolConfig): Promise<Store> {
  const store = createPostgresStore(config);
  try {
    await store.open();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
