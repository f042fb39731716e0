/**
 * @module store/postgres/records
 * Events, leases, install tokens, settings, BMC settings and k3s server waits in PostgreSQL: the small repos,
 * each a thin mapping of the same SQL the SQLite store runs.
 */
import type pg from 'pg';
import type { BmcConfig } from '../../model/bmc-settings';
import type { HostEvent, NewEvent } from '../../model/event';
import type { Lease } from '../../model/lease';
import type { InstallToken } from '../../model/token';
import { leaseClientKey } from '../../model/lease';
import { addressTaken, clientHoldsOther, clientKeySql, mayReplaceSql, otherBinding } from '../lease-rules';
import { notFound } from '../not-found';
import { newEvent, toLease, toToken, type LeaseRow, type TokenRow } from '../rows';
import type {
  BmcRepo,
  ClaimedFetch,
  ClaimRepo,
  EventQuery,
  EventRepo,
  FetchClaim,
  LeaseRepo,
  ServerWaitRepo,
  SettingRepo,
  TokenRepo,
} from '../store';
import { integer, literal, mapPgError, q, tx, type Queryable } from './database';
import { EVENTS_CHANNEL } from './host-feed';

const LEASE_COLUMNS = 'ip, mac, client_id, hostname, state, expires_at, updated_at';

const UPSERT = `ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id,
  hostname = excluded.hostname, state = excluded.state, expires_at = excluded.expires_at,
  updated_at = excluded.updated_at`;

/**
 * SQL for "row `o` is the client's live binding at another address" (lease-rules.ts
 * otherBinding); the arguments are SQL literals. `mac`/`client_id` first, for the indexes.
 */
function otherBindingSql(ip: string, mac: string, clientId: string, updatedAt: string, key: string): string {
  return `(o.mac = ${mac} OR o.client_id = ${clientId}) AND o.ip <> ${ip} AND o.state = 'bound'
    AND o.expires_at > ${updatedAt} AND ${clientKeySql('o')} = ${key}`;
}

type EventRow = Omit<HostEvent, 'daemon'> & { daemon: string | null };

const EVENT_COLUMNS = 'id, ts, host, mac, kind, level, message, data, daemon';

/** The row as a HostEvent: `daemon` only when one was recorded. */
function toEvent({ daemon, ...e }: EventRow): HostEvent {
  return daemon === null ? e : { ...e, daemon };
}

export class PgEvents implements EventRepo {
  private readonly followers = new Set<(e: HostEvent) => void>();

  /**
   * `origin`: this store's id in the event notifications (store/postgres/host-feed.ts);
   * `daemon`: the name recorded on this daemon's events (store.daemonName), if any.
   */
  constructor(
    private readonly pool: pg.Pool,
    readonly origin: string,
    private readonly daemon: string | null = null,
  ) {}

  followOthers(fn: (e: HostEvent) => void): () => void {
    this.followers.add(fn);
    return () => void this.followers.delete(fn);
  }

  /** An event another daemon appended (its notification): read it and hand it to the followers. */
  async arrived(origin: string, id: number): Promise<void> {
    if (origin === this.origin || this.followers.size === 0) return;
    const [r] = await q<EventRow>(this.pool, `SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`, [id]);
    if (r) for (const fn of this.followers) fn(toEvent(r));
  }

  append(e: NewEvent): Promise<HostEvent> {
    return this.insertOn(this.pool, e);
  }

  /** Inserts `e` on `c` (the pool, or a client inside the caller's transaction). */
  async insertOn(c: Queryable, e: NewEvent): Promise<HostEvent> {
    const ev: Omit<HostEvent, 'id'> = { ...newEvent(e), ...(this.daemon !== null ? { daemon: this.daemon } : {}) };
    // The NOTIFY rides the same statement (delivered at its commit) for the other daemons' feeds.
    let rows: Array<{ id: number }>;
    try {
      rows = (
        await c.query<{ id: number }>(
          `WITH ins AS (INSERT INTO events (ts, host, mac, kind, level, message, data, daemon) VALUES ($1,$2,$3,$4,$5,$6,$7,$9) RETURNING id)
       SELECT id, pg_notify('${EVENTS_CHANNEL}', $8::text || ':' || id) FROM ins`,
          [ev.ts, ev.host, ev.mac, ev.kind, ev.level, ev.message, JSON.stringify(ev.data), this.origin, this.daemon],
        )
      ).rows;
    } catch (err) {
      throw mapPgError(err);
    }
    return { id: rows[0]!.id, ...ev };
  }

  async list(query: EventQuery = {}): Promise<HostEvent[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.host !== undefined) where.push(`host = $${args.push(query.host)}`);
    if (query.after !== undefined) where.push(`id > $${args.push(query.after)}`);
    const limit = Math.min(Math.max(query.limit ?? 1000, 1), 10000);
    const rows = await q<EventRow>(
      this.pool,
      `SELECT ${EVENT_COLUMNS} FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id ${query.after !== undefined ? 'ASC' : 'DESC'} LIMIT ${limit}`,
      args,
    );
    if (query.after === undefined) rows.reverse();
    return rows.map(toEvent);
  }
}

export class PgLeases implements LeaseRepo {
  constructor(private readonly pool: pg.Pool) {}

  private async first(where: string, arg: unknown): Promise<Lease | undefined> {
    // The client's binding before its offers (store.ts LeaseRepo.findByMac).
    const [r] = await q<LeaseRow>(
      this.pool,
      `SELECT * FROM leases WHERE ${where} ORDER BY state = 'offered', updated_at DESC LIMIT 1`,
      [arg],
    );
    return r && toLease(r);
  }

  get(ip: string): Promise<Lease | undefined> {
    return this.first('ip = $1', ip);
  }

  findByMac(mac: string): Promise<Lease | undefined> {
    return this.first('mac = $1', mac);
  }

  findByClientId(clientId: string): Promise<Lease | undefined> {
    return this.first('client_id = $1', clientId);
  }

  /**
   * The rules of store/lease-rules.ts, safe across daemons, in one round trip (docs/scale-out.md
   * "The lease commit"): the write is one `INSERT … ON CONFLICT (ip) DO UPDATE … WHERE <the
   * rules> RETURNING`, so PostgreSQL locks the row at the address (or inserts it; of two first
   * inserts one waits and then meets the other's row) and checks the rules against its latest
   * version. No row back means refused: KS_LEASE_TAKEN, nothing written.
   *
   * A `bound` write must also see the client's other live bindings, which live in other rows:
   * two daemons binding one client at two addresses serialise on an advisory lock on its key,
   * and the INSERT runs as a second statement after the lock so that its snapshot (READ
   * COMMITTED: one per statement) holds every binding committed before the lock was granted.
   * Lock and INSERT go as one simple-protocol query (one implicit transaction, values as
   * escaped literals), so this too is one round trip.
   */
  async put(l: Lease): Promise<void> {
    const key = leaseClientKey(l.mac, l.clientId);
    let won: boolean;
    try {
      if (l.state === 'bound') {
        const v = [l.ip, l.mac, l.clientId, l.hostname, l.state].map(literal);
        const [exp, upd] = [integer(l.expiresAt), integer(l.updatedAt)];
        const k = literal(key);
        const res = (await this.pool.query(
          `SELECT pg_advisory_xact_lock(7312002, hashtext(${k}));
           INSERT INTO leases (${LEASE_COLUMNS}) SELECT ${v.join(', ')}, ${exp}, ${upd}
           WHERE NOT EXISTS (SELECT 1 FROM leases o WHERE ${otherBindingSql(v[0]!, v[1]!, v[2]!, upd, k)})
           ${UPSERT} WHERE ${mayReplaceSql(k)} RETURNING ip`,
        )) as unknown as pg.QueryResult[];
        won = res[1]!.rows.length === 1;
      } else {
        const rows = (
          await this.pool.query(
            `INSERT INTO leases (${LEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ${UPSERT} WHERE ${mayReplaceSql('$8::text')} RETURNING ip`,
            [l.ip, l.mac, l.clientId, l.hostname, l.state, l.expiresAt, l.updatedAt, key],
          )
        ).rows;
        won = rows.length === 1;
      }
    } catch (e) {
      throw mapPgError(e);
    }
    if (won) return;
    if (l.state === 'bound') {
      // Which rule refused it, for the message (the refusal itself was decided above).
      const rows = (
        await q<LeaseRow>(
          this.pool,
          "SELECT * FROM leases WHERE (mac = $1 OR client_id = $2) AND ip <> $3 AND state = 'bound' AND expires_at > $4",
          [l.mac, l.clientId, l.ip, l.updatedAt],
        ).catch(() => [])
      ).map(toLease);
      const other = otherBinding(rows, l);
      if (other) throw clientHoldsOther(l, other);
    }
    throw addressTaken(l);
  }

  async delete(ip: string): Promise<void> {
    await q(this.pool, 'DELETE FROM leases WHERE ip = $1', [ip]);
  }

  async list(): Promise<Lease[]> {
    return (await q<LeaseRow>(this.pool, 'SELECT * FROM leases ORDER BY ip COLLATE "C"')).map(toLease);
  }
}

export class PgTokens implements TokenRepo {
  constructor(
    private readonly pool: pg.Pool,
    private readonly events: PgEvents,
  ) {}

  issue(t: Omit<InstallToken, 'fetchedAt' | 'revokedAt'>): Promise<InstallToken> {
    return tx(this.pool, async (c) => {
      await c.query('UPDATE install_tokens SET revoked_at = $1 WHERE host = $2 AND revoked_at IS NULL', [
        t.issuedAt,
        t.host,
      ]);
      await c.query('INSERT INTO install_tokens (token, host, issued_at, expires_at) VALUES ($1,$2,$3,$4)', [
        t.token,
        t.host,
        t.issuedAt,
        t.expiresAt,
      ]);
      return { ...t, fetchedAt: null, revokedAt: null };
    });
  }

  async get(token: string): Promise<InstallToken | undefined> {
    const [r] = await q<TokenRow>(this.pool, 'SELECT * FROM install_tokens WHERE token = $1', [token]);
    return r && toToken(r);
  }

  async liveFor(host: string): Promise<InstallToken | undefined> {
    const [r] = await q<TokenRow>(
      this.pool,
      'SELECT * FROM install_tokens WHERE host = $1 AND revoked_at IS NULL ORDER BY issued_at DESC LIMIT 1',
      [host],
    );
    return r && toToken(r);
  }

  async markFetched(token: string, at: number): Promise<InstallToken | undefined> {
    await q(this.pool, 'UPDATE install_tokens SET fetched_at = $1 WHERE token = $2 AND fetched_at IS NULL', [
      at,
      token,
    ]);
    return this.get(token);
  }

  async claimFetch(token: string, at: number): Promise<boolean> {
    const rows = await q(
      this.pool,
      'UPDATE install_tokens SET fetched_at = $1 WHERE token = $2 AND fetched_at IS NULL RETURNING token',
      [at, token],
    );
    return rows.length === 1;
  }

  claimFetchWithEvent(token: string, at: number, event: (claim: FetchClaim) => NewEvent): Promise<ClaimedFetch> {
    return tx(this.pool, async (c) => {
      // The conditional UPDATE is the claim (first caller only, across daemons); the row lock it
      // takes holds a concurrent claim until this commits, which then sees fetched_at set.
      const won = await c.query<{ fetched_at: number }>(
        'UPDATE install_tokens SET fetched_at = $1 WHERE token = $2 AND fetched_at IS NULL RETURNING fetched_at',
        [at, token],
      );
      const first = won.rows.length === 1;
      const fetchedAt = first
        ? won.rows[0]!.fetched_at
        : ((
            await c.query<{ fetched_at: number | null }>('SELECT fetched_at FROM install_tokens WHERE token = $1', [
              token,
            ])
          ).rows[0]?.fetched_at ?? null);
      const claim = { first, fetchedAt };
      return { claim, event: await this.events.insertOn(c, event(claim)) };
    });
  }

  async revokeFor(host: string, at: number): Promise<void> {
    await q(this.pool, 'UPDATE install_tokens SET revoked_at = $1 WHERE host = $2 AND revoked_at IS NULL', [at, host]);
  }
}

export class PgSettings implements SettingRepo {
  constructor(private readonly pool: pg.Pool) {}

  async get(key: string): Promise<string | undefined> {
    return (await q<{ value: string }>(this.pool, 'SELECT value FROM settings WHERE key = $1', [key]))[0]?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await q(
      this.pool,
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  async delete(key: string): Promise<void> {
    await q(this.pool, 'DELETE FROM settings WHERE key = $1', [key]);
  }
}

export class PgBmc implements BmcRepo {
  constructor(private readonly pool: pg.Pool) {}

  async get(host: string): Promise<BmcConfig | undefined> {
    return (await q<{ config: BmcConfig }>(this.pool, 'SELECT config FROM host_bmc WHERE host = $1', [host]))[0]
      ?.config;
  }

  set(host: string, config: BmcConfig): Promise<void> {
    return tx(this.pool, async (c) => {
      if ((await c.query('SELECT 1 FROM hosts WHERE name = $1', [host])).rowCount === 0) throw notFound(host);
      await c.query(
        'INSERT INTO host_bmc (host, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (host) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at',
        [host, JSON.stringify(config), new Date().toISOString()],
      );
    });
  }

  async delete(host: string): Promise<void> {
    await q(this.pool, 'DELETE FROM host_bmc WHERE host = $1', [host]);
  }
}

export class PgClaims implements ClaimRepo {
  constructor(private readonly pool: pg.Pool) {}

  async take(key: string, holder: string, expiresAt: number): Promise<boolean> {
    // A racing insert waits on the winner's row, then re-checks the WHERE against it: one winner.
    const rows = await q(
      this.pool,
      `INSERT INTO work_claims (key, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE work_claims.holder = excluded.holder OR work_claims.expires_at <= $4 RETURNING key`,
      [key, holder, expiresAt, Date.now()],
    );
    return rows.length === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await q(this.pool, 'DELETE FROM work_claims WHERE key = $1 AND holder = $2', [key, holder]);
  }
}

export class PgServerWaits implements ServerWaitRepo {
  constructor(private readonly pool: pg.Pool) {}

  add(host: string): Promise<void> {
    return tx(this.pool, async (c) => {
      if ((await c.query('SELECT 1 FROM hosts WHERE name = $1', [host])).rowCount === 0) throw notFound(host);
      await c.query('INSERT INTO k3s_server_waits (host, since) VALUES ($1, $2) ON CONFLICT (host) DO NOTHING', [
        host,
        new Date().toISOString(),
      ]);
    });
  }

  async list(): Promise<string[]> {
    return (
      await q<{ host: string }>(this.pool, 'SELECT host FROM k3s_server_waits ORDER BY since, host COLLATE "C"')
    ).map((r) => r.host);
  }

  async delete(host: string): Promise<void> {
    await q(this.pool, 'DELETE FROM k3s_server_waits WHERE host = $1', [host]);
  }

  async take(): Promise<string[]> {
    // One statement: a concurrent take() blocks on the deleted rows and then finds none.
    const rows = await q<{ host: string }>(
      this.pool,
      'WITH t AS (DELETE FROM k3s_server_waits RETURNING host, since) SELECT host FROM t ORDER BY since, host COLLATE "C"',
    );
    return rows.map((r) => r.host);
  }
}
