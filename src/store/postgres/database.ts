/**
 * @module store/postgres/database
 * Pool, transactions, migrations and error mapping for the PostgreSQL store. Every write is
 * its own transaction and the promise resolves after COMMIT (PostgreSQL's default
 * synchronous_commit=on: the WAL is flushed before COMMIT returns), so the same "resolved
 * means durable" contract holds as for SQLite.
 */
import pg from 'pg';
import { ErrorCode, KickstandError } from '../../errors';
import type { Migration } from '../sqlite/migrations';

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** int8 (bigint, bigserial) as JS numbers: our values (epoch ms, event ids) stay below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20
      ? (v: string) => Number(v)
      : (pg.types.getTypeParser(oid, format) as (v: string) => unknown)) as typeof pg.types.getTypeParser,
};

export function createPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ max: 8, connectionTimeoutMillis: 10_000, keepAlive: true, ...config, types });
  // An idle client that loses its connection must not crash the daemon (pg docs: Pool 'error').
  pool.on('error', () => undefined);
  return pool;
}

/**
 * True when `e` means the connection, not the statement, failed: refused, reset, timed out
 * (store.timeoutMs), or the server shutting down or still starting (SQLSTATE class 08,
 * 57P01-57P03). Such a connection is discarded, never handed out again, and the outcome of a
 * COMMIT in flight is unknown: the caller must treat the write as not done (no DHCPACK).
 */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof KickstandError) return false;
  const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('57P');
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE…
  }
  // node-postgres' own connection errors carry no code.
  return /connection terminated|query read timeout|timeout exceeded|not queryable|client was closed/i.test(
    String(message),
  );
}

function unavailable(e: unknown, what: string): KickstandError {
  return new KickstandError(ErrorCode.UNAVAILABLE, `${what}: ${(e as Error).message}`, {
    cause: e,
    fix: 'check store.url and that the server is up and reachable; the daemon reconnects by itself',
  });
}

export async function tx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect().catch((e: unknown) => {
    throw unavailable(e, 'cannot reach PostgreSQL');
  });
  let broken: Error | undefined;
  // A checked-out client whose connection dies emits 'error' (node-postgres); unheard, that
  // would crash the daemon. The query in flight fails with it too.
  const onError = (e: Error): void => void (broken = e);
  c.on('error', onError);
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    if (isConnectionError(e)) broken = e as Error;
    else await c.query('ROLLBACK').catch((r: unknown) => (broken = r as Error));
    throw mapPgError(e);
  } finally {
    c.removeListener('error', onError);
    // A broken connection is destroyed, not returned to the pool (pg-pool: release(err)).
    c.release(broken);
  }
}

export async function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<void> {
  await tx(pool, async (c) => {
    // One migrator at a time across daemons sharing the database.
    await c.query('SELECT pg_advisory_xact_lock(7312001)');
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const applied = new Set(
      (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const known = new Set(migrations.map((m) => m.version));
    const newer = [...applied].filter((v) => !known.has(v));
    if (newer.length > 0) {
      throw new KickstandError(
        ErrorCode.STORE_FAILED,
        `database has schema version(s) ${newer.join(', ')} unknown to this Kickstand`,
        {
          fix: 'run the Kickstand version that wrote this database, or restore a backup',
        },
      );
    }
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
    }
  });
}

export function mapPgError(e: unknown): unknown {
  if (e instanceof KickstandError) return e;
  if (isConnectionError(e)) return unavailable(e, 'PostgreSQL unavailable');
  const pe = e as { code?: string; constraint?: string; message?: string };
  if (pe && pe.code === '23505') {
    if (pe.constraint === 'hosts_pkey')
      return new KickstandError(ErrorCode.HOST_EXISTS, 'host already exists', { field: 'name' });
    if (pe.constraint === 'host_macs_pkey')
      return new KickstandError(ErrorCode.MAC_IN_USE, 'MAC already belongs to another host', { field: 'macs' });
    if (pe.constraint === 'hosts_ipv4_key')
      return new KickstandError(ErrorCode.IP_IN_USE, 'address already reserved for another host', { field: 'ipv4' });
    return new KickstandError(ErrorCode.CONFLICT, `conflicting write: ${pe.message}`, { cause: e });
  }
  return new KickstandError(ErrorCode.STORE_FAILED, `store operation failed: ${pe?.message ?? String(e)}`, {
    cause: e,
  });
}

/**
 * A value as an SQL literal, for the few statements sent in the simple protocol (several
 * statements in one round trip, no parameters): pg's escapeLiteral (quotes, backslashes);
 * null as NULL.
 */
export function literal(v: string | null): string {
  return v === null ? 'NULL' : pg.escapeLiteral(v);
}

/** A safe integer as an SQL literal (epoch ms); anything else is refused, never interpolated. */
export function integer(n: number): string {
  if (!Number.isSafeInteger(n))
    throw new KickstandError(ErrorCode.STORE_FAILED, `not an integer: ${String(n)}`, { field: 'expiresAt' });
  return String(n);
}

/** Runs one statement outside an explicit transaction, mapping errors. */
export async function q<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, args: unknown[] = []): Promise<R[]> {
  try {
    return (await pool.query<R>(sql, args)).rows;
  } catch (e) {
    throw mapPgError(e);
  }
}
