/**
 * @module daemon/store
 * Opens the store the config names: the SQLite file in stateDir (default), or a PostgreSQL
 * database shared with other daemons (docs/scale-out.md). PostgreSQL is connected, migrated
 * and loaded by the `store` service, the first to start; the password is read from
 * store.passwordFile (else libpq's PGPASSWORD) and never logged.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import { createPostgresStore } from '../store/postgres';
import { openSqliteStore } from '../store/sqlite';
import type { Store } from '../store/store';
import { readPasswordFile } from '../store/password-file';

export interface DaemonStore {
  store: Store;
  /** Connects, migrates and loads (PostgreSQL); nothing to do for SQLite. Stop is the daemon's close. */
  service: Service;
  /** Where the store is, for logs: a path, or the URL (which holds no password). */
  where: string;
  /** This daemon's name among those sharing the store (store.daemonName, else the hostname). */
  daemonName: string;
}

export function openDaemonStore(config: Config, log: Logger): DaemonStore {
  const s = config.store;
  if (s.kind === 'sqlite') {
    const path = join(config.stateDir, 'kickstand.db');
    // null in the config: the store's own defaults.
    const store = openSqliteStore(path, {
      syncIntervalMs: s.syncIntervalMs ?? undefined,
      checkpointPeriodMs: s.checkpointPeriodMs ?? undefined,
    });
    return {
      store,
      where: path,
      daemonName: 'local',
      service: { name: 'store', start: async () => undefined, stop: async () => undefined },
    };
  }
  const url = s.url!;
  const daemonName = s.daemonName ?? hostname();
  const store = createPostgresStore(
    {
      connectionString: url,
      ...(s.passwordFile !== null ? { password: readPasswordFile(s.passwordFile) } : {}),
      max: s.poolSize,
      // A restart or partition fails a statement within timeoutMs, not never (docs/scale-out.md).
      connectionTimeoutMillis: s.timeoutMs,
      query_timeout: s.timeoutMs,
      keepAlive: true,
      application_name: 'kickstand',
    },
    { daemonName },
  );
  const where = new URL(url).host + new URL(url).pathname;
  const service: Service = {
    name: 'store',
    async start() {
      await store.open();
      log.info({ component: 'store', kind: 'postgresql', at: where }, 'store: connected to PostgreSQL, schema current');
    },
    stop: async () => undefined,
  };
  return { store, where, service, daemonName };
}
