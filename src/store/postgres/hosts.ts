/**
 * @module store/postgres/hosts
 * Host registry rows in PostgreSQL, with the same checks and error codes as the SQLite store.
 *
 * Like the SQLite store it keeps a {@link HostIndex} (`lookup`) for the DHCP hot path: loaded
 * at open ({@link PgHosts.load}), updated when one of ITS writes is acknowledged (committed),
 * rebuilt from the rows when a write's outcome is uncertain, and re-read when another daemon on
 * the same database writes a host (store/postgres/host-feed.ts, LISTEN/NOTIFY).
 */
import type pg from 'pg';
import { ErrorCode, KickstandError } from '../../errors';
import type { Host, HostPatch, HostState, NewHost } from '../../model/host';
import { HostIndex, trackWrite, type HostLookup } from '../host-index';
import { notFound } from '../not-found';
import type { HostRepo } from '../store';
import { q, tx, type Queryable } from './database';
import { HOSTS_CHANNEL } from './host-feed';

interface Row {
  name: string;
  profile: string;
  role: string;
  ipv4: string | null;
  vars: Record<string, string>;
  netboot: boolean;
  state: string;
  state_reason: string | null;
  ssh_host_keys: string[];
  created_at: string;
  updated_at: string;
  version: number;
  macs: string[] | null;
}

const SELECT = `SELECT h.*, (SELECT array_agg(m.mac ORDER BY m.position) FROM host_macs m WHERE m.host = h.name) AS macs FROM hosts h`;

const toHost = (r: Row): Host => ({
  name: r.name,
  macs: r.macs ?? [],
  profile: r.profile,
  role: r.role,
  ipv4: r.ipv4,
  vars: r.vars,
  netboot: r.netboot,
  state: r.state as HostState,
  stateReason: r.state_reason,
  sshHostKeys: r.ssh_host_keys,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version,
});

export class PgHosts implements HostRepo {
  private readonly index = new HostIndex();
  /** Synchronous lookups by MAC and reserved address (DHCP hot path). */
  readonly lookup: HostLookup = this.index;

  constructor(private readonly pool: pg.Pool) {}

  /** (Re)loads the lookup index from the committed rows: at open, and after an uncertain write. */
  async load(): Promise<void> {
    this.index.reset(await this.list());
  }

  /**
   * Re-reads host `name` into the index (a write through another daemon, store/postgres/host-feed.ts).
   * An older version than the one indexed (this daemon's own newer write) is ignored.
   */
  async refresh(name: string): Promise<void> {
    const h = await this.get(name);
    if (h === undefined) this.index.remove(name);
    else if ((this.index.named(name)?.version ?? 0) <= h.version) this.index.put(h);
  }

  private async one(c: Queryable, where: string, arg: unknown): Promise<Host | undefined> {
    const r = (await c.query<Row>(`${SELECT} WHERE ${where}`, [arg])).rows[0];
    return r && toHost(r);
  }

  get(name: string): Promise<Host | undefined> {
    return this.one(this.pool, 'h.name = $1', name);
  }

  getByMac(mac: string): Promise<Host | undefined> {
    return this.one(this.pool, 'h.name = (SELECT host FROM host_macs WHERE mac = $1)', mac);
  }

  getByIp(ipv4: string): Promise<Host | undefined> {
    return this.one(this.pool, 'h.ipv4 = $1', ipv4);
  }

  async list(): Promise<Host[]> {
    return (await q<Row>(this.pool, `${SELECT} ORDER BY h.name COLLATE "C"`)).map(toHost);
  }

  create(input: NewHost & { state: HostState }): Promise<Host> {
    return trackWrite(
      this.created(input),
      (h) => this.index.put(h),
      () => this.load(),
    );
  }

  createMany(inputs: ReadonlyArray<NewHost & { state: HostState }>): Promise<Host[]> {
    const write = tx(this.pool, async (c) => {
      const out: Host[] = [];
      for (const h of inputs) out.push(await this.insertHost(c, h));
      return out;
    });
    return trackWrite(
      write,
      (hs) => hs.forEach((h) => this.index.put(h)),
      () => this.load(),
    );
  }

  update(name: string, patch: HostPatch, expectedVersion?: number): Promise<Host> {
    return trackWrite(
      this.updated(name, patch, expectedVersion),
      (h) => this.index.put(h),
      () => this.load(),
    );
  }

  delete(name: string): Promise<void> {
    return trackWrite(
      this.deleted(name),
      () => this.index.remove(name),
      () => this.load(),
    );
  }

  private created(input: NewHost & { state: HostState }): Promise<Host> {
    return tx(this.pool, (c) => this.insertHost(c, input));
  }

  /** Inserts one host inside the caller's transaction; throws (rolling it back) on a conflict. */
  private async insertHost(c: Queryable, input: NewHost & { state: HostState }): Promise<Host> {
    if (await this.one(c, 'h.name = $1', input.name)) {
      throw new KickstandError(ErrorCode.HOST_EXISTS, `host ${input.name} already exists`, {
        field: 'name',
        fix: 'pick another name, or change the existing host with `kickstand host set`',
      });
    }
    await checkIp(c, input.ipv4 ?? null, input.name);
    const now = new Date().toISOString();
    await c.query(
      `INSERT INTO hosts (name, profile, role, ipv4, vars, netboot, state, state_reason, ssh_host_keys, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, '[]', $8, $8, 1)`,
      [
        input.name,
        input.profile,
        input.role,
        input.ipv4 ?? null,
        JSON.stringify(input.vars ?? {}),
        input.netboot === true,
        input.state,
        now,
      ],
    );
    await insertMacs(c, input.name, input.macs);
    await notifyHost(c, input.name);
    return (await this.one(c, 'h.name = $1', input.name))!;
  }

  private updated(name: string, patch: HostPatch, expectedVersion?: number): Promise<Host> {
    return tx(this.pool, async (c) => {
      const row = (
        await c.query<{ version: number; ipv4: string | null }>(
          'SELECT version, ipv4 FROM hosts WHERE name = $1 FOR UPDATE',
          [name],
        )
      ).rows[0];
      if (!row) throw notFound(name);
      if (expectedVersion !== undefined && row.version !== expectedVersion) {
        throw new KickstandError(
          ErrorCode.CONFLICT,
          `host ${name} changed since it was read (version ${row.version}, expected ${expectedVersion})`,
          { fix: 'read the host again and retry' },
        );
      }
      if (patch.ipv4 !== undefined && patch.ipv4 !== row.ipv4) await checkIp(c, patch.ipv4, name);
      if (patch.macs !== undefined) {
        await c.query('DELETE FROM host_macs WHERE host = $1', [name]);
        await insertMacs(c, name, patch.macs);
      }
      const sets: string[] = [];
      const args: unknown[] = [name];
      const col = (column: string, v: unknown): void => {
        args.push(v);
        sets.push(`${column} = $${args.length}`);
      };
      if (patch.profile !== undefined) col('profile', patch.profile);
      if (patch.role !== undefined) col('role', patch.role);
      if (patch.ipv4 !== undefined) col('ipv4', patch.ipv4);
      if (patch.vars !== undefined) col('vars', JSON.stringify(patch.vars));
      if (patch.netboot !== undefined) col('netboot', patch.netboot);
      if (patch.state !== undefined) col('state', patch.state);
      if (patch.stateReason !== undefined) col('state_reason', patch.stateReason);
      if (patch.sshHostKeys !== undefined) col('ssh_host_keys', JSON.stringify(patch.sshHostKeys));
      col('updated_at', new Date().toISOString());
      await c.query(`UPDATE hosts SET ${sets.join(', ')}, version = version + 1 WHERE name = $1`, args);
      await notifyHost(c, name);
      return (await this.one(c, 'h.name = $1', name))!;
    });
  }

  private deleted(name: string): Promise<void> {
    return tx(this.pool, async (c) => {
      const r = await c.query('DELETE FROM hosts WHERE name = $1', [name]);
      if (r.rowCount === 0) throw notFound(name);
      await notifyHost(c, name);
    });
  }
}

/** Tells the other daemons' host feeds, at COMMIT (store/postgres/host-feed.ts). */
async function notifyHost(c: Queryable, name: string): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [HOSTS_CHANNEL, name]);
}

async function checkIp(c: Queryable, ipv4: string | null, self: string): Promise<void> {
  if (ipv4 === null) return;
  const owner = (await c.query<{ name: string }>('SELECT name FROM hosts WHERE ipv4 = $1', [ipv4])).rows[0];
  if (owner && owner.name !== self) {
    throw new KickstandError(ErrorCode.IP_IN_USE, `${ipv4} is already reserved for host ${owner.name}`, {
      field: 'ipv4',
      fix: 'pick a free address, or leave it empty to lease from the pool',
    });
  }
}

async function insertMacs(c: Queryable, host: string, macs: string[]): Promise<void> {
  for (const [i, mac] of macs.entries()) {
    const owner = (await c.query<{ host: string }>('SELECT host FROM host_macs WHERE mac = $1', [mac])).rows[0];
    if (owner) {
      throw new KickstandError(ErrorCode.MAC_IN_USE, `MAC ${mac} already belongs to host ${owner.host}`, {
        field: `macs[${i}]`,
        fix: `remove it from ${owner.host} first (kickstand host set ${owner.host} --mac …), or check the MAC`,
      });
    }
    await c.query('INSERT INTO host_macs (mac, host, position) VALUES ($1, $2, $3)', [mac, host, i]);
  }
}
