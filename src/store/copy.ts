/**
 * @module store/copy
 * `kickstand db copy`: moves a SQLite store into a PostgreSQL database (docs/scale-out.md).
 * Both schemas are version for version the same tables and columns (store/postgres/migrations.ts),
 * so each table is copied row for row, in one PostgreSQL transaction, then verified: per table
 * the row count and a SHA-256 over the rows, sorted by primary key and normalised (JSON
 * columns canonical, booleans 0/1), read back from PostgreSQL, must equal the source's. A
 * target holding any row is refused unless `force` (then emptied first, in that transaction).
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { ErrorCode, KickstandError } from '../errors';
import { createPool, migrate, tx } from './postgres/database';
import { PG_MIGRATIONS } from './postgres/migrations';

interface Table {
  name: string;
  key: string;
  json?: readonly string[];
  bool?: readonly string[];
  serial?: string;
}

/** Parents before children (foreign keys). */
const TABLES: readonly Table[] = [
  { name: 'hosts', key: 'name', json: ['vars', 'ssh_host_keys'], bool: ['netboot'] },
  { name: 'host_macs', key: 'mac' },
  { name: 'install_tokens', key: 'token' },
  { name: 'events', key: 'id', json: ['data'], serial: 'id' },
  { name: 'leases', key: 'ip' },
  { name: 'settings', key: 'key' },
  { name: 'mesh_members', key: 'host' },
  { name: 'host_bmc', key: 'host', json: ['config'] },
  { name: 'k3s_server_waits', key: 'host' },
  { name: 'work_claims', key: 'key' },
  { name: 'rollouts', key: 'id', json: ['batches', 'done', 'reimaged'], bool: ['power_cycle'] },
];

export interface TableCopy {
  table: string;
  rows: number;
  sha256: string;
}

type Row = Record<string, unknown>;

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Row)[k])]),
    );
  return v;
}

/** Count and SHA-256 of `rows` (already sorted by key), each value normalised across the two stores. */
function digest(t: Table, rows: Row[]): TableCopy {
  const h = createHash('sha256');
  for (const r of rows) {
    const norm = Object.keys(r)
      .sort()
      .map((c) => {
        const v = r[c];
        if (t.json?.includes(c)) return canonical(typeof v === 'string' ? JSON.parse(v) : v);
        if (t.bool?.includes(c)) return v ? 1 : 0;
        return typeof v === 'bigint' ? Number(v) : v;
      });
    h.update(JSON.stringify(norm) + '\n');
  }
  return { table: t.name, rows: rows.length, sha256: h.digest('hex') };
}

const byKey = (t: Table) => (a: Row, b: Row) => {
  const x = a[t.key] as string | number;
  const y = b[t.key] as string | number;
  return x < y ? -1 : x > y ? 1 : 0;
};

export async function copySqliteToPostgres(
  from: string,
  to: pg.PoolConfig,
  opts: { force?: boolean } = {},
): Promise<TableCopy[]> {
  let src: Database.Database;
  try {
    src = new Database(from, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new KickstandError(ErrorCode.INVALID_INPUT, `cannot open ${from}: ${(e as Error).message}`, {
      field: '--from',
      fix: 'pass the SQLite store, stateDir/kickstand.db (stop the daemon first)',
    });
  }
  const pool = createPool({ max: 2, ...to });
  try {
    const have = (src.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v;
    const want = Math.max(...PG_MIGRATIONS.map((m) => m.version));
    if (have !== want) {
      throw new KickstandError(
        ErrorCode.STORE_FAILED,
        `${from} is at schema version ${have ?? 0}; this Kickstand writes version ${want}`,
        {
          fix: 'start `kickstand serve` once on the SQLite store with this version (it migrates), stop it, copy again',
        },
      );
    }
    const source = TABLES.map((t) => ({
      t,
      rows: (src.prepare(`SELECT * FROM ${t.name}`).all() as Row[]).sort(byKey(t)),
    }));
    await migrate(pool, PG_MIGRATIONS);
    await tx(pool, async (c) => {
      const counts = await Promise.all(
        TABLES.map(async (t) =>
          Number((await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${t.name}`)).rows[0]!.n),
        ),
      );
      const held = TABLES.filter((_, i) => counts[i]! > 0).map((t) => t.name);
      if (held.length > 0 && !opts.force) {
        throw new KickstandError(
          ErrorCode.STATE_NOT_EMPTY,
          `the target database already holds rows (${held.join(', ')}); nothing copied`,
          { fix: 'copy into an empty database, or pass --force to replace its contents' },
        );
      }
      if (held.length > 0) await c.query(`TRUNCATE ${TABLES.map((t) => t.name).join(', ')} CASCADE`);
      for (const { t, rows } of source) {
        for (const r of rows) {
          const cols = Object.keys(r);
          const vals = cols.map((k) => (t.bool?.includes(k) ? Boolean(r[k]) : r[k]));
          await c.query(
            `INSERT INTO ${t.name} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
            vals,
          );
        }
        if (t.serial !== undefined)
          await c.query(
            `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), GREATEST((SELECT max(${t.serial}) FROM ${t.name}), 1))`,
          );
      }
    });
    // Verify what PostgreSQL now holds against the source.
    const report: TableCopy[] = [];
    for (const { t, rows } of source) {
      const want = digest(t, rows);
      const back = (await pool.query<Row>(`SELECT * FROM ${t.name}`)).rows.sort(byKey(t));
      const got = digest(t, back);
      if (got.rows !== want.rows || got.sha256 !== want.sha256) {
        throw new KickstandError(
          ErrorCode.CHECKSUM_MISMATCH,
          `${t.name}: ${want.rows} rows (sha256 ${want.sha256.slice(0, 12)}) copied, ${got.rows} (sha256 ${got.sha256.slice(0, 12)}) read back`,
          { fix: 'the target was written meanwhile? copy again with --force while no daemon uses it' },
        );
      }
      report.push(want);
    }
    return report;
  } finally {
    src.close();
    await pool.end();
  }
}
