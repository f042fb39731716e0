/**
 * @module store/sqlite/hosts
 * Host registry rows: `hosts` plus `host_macs` (one row per MAC, so uniqueness across hosts is
 * the primary key's job, not a scan).
 *
 * Every host write of the daemon goes through this class (the registry, the API and the tests
 * all use `store.hosts`), so it keeps {@link HostIndex} `lookup` current for the DHCP server:
 * loaded at open, updated when a write is acknowledged (committed and fsynced), and reloaded
 * from the database when a write fails, since a failed fsync leaves its outcome uncertain.
 */
import { ErrorCode, KickstandError } from '../../errors';
import type { Host, HostPatch, HostState, NewHost } from '../../model/host';
import { HostIndex, trackWrite, type HostLookup } from '../host-index';
import { notFound } from '../not-found';
import type { HostRepo } from '../store';
import type { Db, GroupCommitter } from './database';

interface HostRow {
  name: string;
  profile: string;
  role: string;
  ipv4: string | null;
  vars: string;
  netboot: number;
  state: string;
  state_reason: string | null;
  ssh_host_keys: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export class SqliteHosts implements HostRepo {
  private readonly q;
  private readonly index = new HostIndex();
  /** Synchronous lookups by MAC and reserved address (DHCP hot path). */
  readonly lookup: HostLookup = this.index;

  constructor(
    private readonly db: Db,
    private readonly writer: GroupCommitter,
  ) {
    this.q = {
      get: db.prepare('SELECT * FROM hosts WHERE name = ?'),
      macsOf: db.prepare('SELECT mac FROM host_macs WHERE host = ? ORDER BY position'),
      byMac: db.prepare('SELECT h.* FROM hosts h JOIN host_macs m ON m.host = h.name WHERE m.mac = ?'),
      byIp: db.prepare('SELECT * FROM hosts WHERE ipv4 = ?'),
      list: db.prepare('SELECT * FROM hosts ORDER BY name'),
      allMacs: db.prepare('SELECT host, mac FROM host_macs ORDER BY host, position'),
      macOwner: db.prepare('SELECT host FROM host_macs WHERE mac = ?'),
      insert: db.prepare(`INSERT INTO hosts (name, profile, role, ipv4, vars, netboot, state, state_reason,
        ssh_host_keys, created_at, updated_at, version) VALUES
        (@name, @profile, @role, @ipv4, @vars, @netboot, @state, @state_reason, @ssh_host_keys, @created_at, @updated_at, 1)`),
      insertMac: db.prepare('INSERT INTO host_macs (mac, host, position) VALUES (?, ?, ?)'),
      deleteMacs: db.prepare('DELETE FROM host_macs WHERE host = ?'),
      delete: db.prepare('DELETE FROM hosts WHERE name = ?'),
    };
    this.reindex();
  }

  /** Rebuilds the lookup index from the committed rows. */
  private reindex(): void {
    this.index.reset(this.listNow());
  }

  async get(name: string): Promise<Host | undefined> {
    const row = this.q.get.get(name) as HostRow | undefined;
    return row && this.toHost(row);
  }

  async getByMac(mac: string): Promise<Host | undefined> {
    const row = this.q.byMac.get(mac) as HostRow | undefined;
    return row && this.toHost(row);
  }

  async getByIp(ipv4: string): Promise<Host | undefined> {
    const row = this.q.byIp.get(ipv4) as HostRow | undefined;
    return row && this.toHost(row);
  }

  async list(): Promise<Host[]> {
    return this.listNow();
  }

  private listNow(): Host[] {
    const macs = new Map<string, string[]>();
    for (const r of this.q.allMacs.all() as Array<{ host: string; mac: string }>) {
      (macs.get(r.host) ?? macs.set(r.host, []).get(r.host)!).push(r.mac);
    }
    return (this.q.list.all() as HostRow[]).map((r) => rowToHost(r, macs.get(r.name) ?? []));
  }

  create(input: NewHost & { state: HostState }): Promise<Host> {
    return trackWrite(
      this.created(input),
      (h) => this.index.put(h),
      () => this.reindex(),
    );
  }

  createMany(inputs: ReadonlyArray<NewHost & { state: HostState }>): Promise<Host[]> {
    // One writer.write: the group committer runs it as one transaction (or one savepoint when
    // its batch falls back to isolation), so a refused host rolls back the whole list.
    const write = this.writer.write(() => inputs.map((h) => this.insertHost(h)));
    return trackWrite(
      write,
      (hs) => hs.forEach((h) => this.index.put(h)),
      () => this.reindex(),
    );
  }

  update(name: string, patch: HostPatch, expectedVersion?: number): Promise<Host> {
    return trackWrite(
      this.updated(name, patch, expectedVersion),
      (h) => this.index.put(h),
      () => this.reindex(),
    );
  }

  delete(name: string): Promise<void> {
    return trackWrite(
      this.deleted(name),
      () => this.index.remove(name),
      () => this.reindex(),
    );
  }

  private created(input: NewHost & { state: HostState }): Promise<Host> {
    return this.writer.write(() => this.insertHost(input));
  }

  /** Inserts one host inside the caller's transaction; throws (rolling it back) on a conflict. */
  private insertHost(input: NewHost & { state: HostState }): Host {
    if (this.q.get.get(input.name)) {
      throw new KickstandError(ErrorCode.HOST_EXISTS, `host ${input.name} already exists`, {
        field: 'name',
        fix: 'pick another name, or change the existing host with `kickstand host set`',
      });
    }
    this.checkIp(input.ipv4 ?? null, input.name);
    const now = new Date().toISOString();
    this.q.insert.run({
      name: input.name,
      profile: input.profile,
      role: input.role,
      ipv4: input.ipv4 ?? null,
      vars: JSON.stringify(input.vars ?? {}),
      netboot: input.netboot ? 1 : 0,
      state: input.state,
      state_reason: null,
      ssh_host_keys: '[]',
      created_at: now,
      updated_at: now,
    });
    this.insertMacs(input.name, input.macs);
    return this.toHost(this.q.get.get(input.name) as HostRow);
  }

  private updated(name: string, patch: HostPatch, expectedVersion?: number): Promise<Host> {
    return this.writer.write(() => {
      const row = this.q.get.get(name) as HostRow | undefined;
      if (!row) throw notFound(name);
      if (expectedVersion !== undefined && row.version !== expectedVersion) {
        throw new KickstandError(
          ErrorCode.CONFLICT,
          `host ${name} changed since it was read (version ${row.version}, expected ${expectedVersion})`,
          {
            fix: 'read the host again and retry',
          },
        );
      }
      if (patch.ipv4 !== undefined && patch.ipv4 !== row.ipv4) this.checkIp(patch.ipv4, name);
      if (patch.macs !== undefined) {
        this.q.deleteMacs.run(name);
        this.insertMacs(name, patch.macs);
      }
      const sets: string[] = [];
      const vals: Record<string, unknown> = { name };
      const col = (c: string, v: unknown): void => {
        sets.push(`${c} = @${c}`);
        vals[c] = v;
      };
      if (patch.profile !== undefined) col('profile', patch.profile);
      if (patch.role !== undefined) col('role', patch.role);
      if (patch.ipv4 !== undefined) col('ipv4', patch.ipv4);
      if (patch.vars !== undefined) col('vars', JSON.stringify(patch.vars));
      if (patch.netboot !== undefined) col('netboot', patch.netboot ? 1 : 0);
      if (patch.state !== undefined) col('state', patch.state);
      if (patch.stateReason !== undefined) col('state_reason', patch.stateReason);
      if (patch.sshHostKeys !== undefined) col('ssh_host_keys', JSON.stringify(patch.sshHostKeys));
      col('updated_at', new Date().toISOString());
      this.db.prepare(`UPDATE hosts SET ${sets.join(', ')}, version = version + 1 WHERE name = @name`).run(vals);
      return this.toHost(this.q.get.get(name) as HostRow);
    });
  }

  private deleted(name: string): Promise<void> {
    return this.writer.write(() => {
      const r = this.q.delete.run(name);
      if (r.changes === 0) throw notFound(name);
    });
  }

  private checkIp(ipv4: string | null, self: string): void {
    if (ipv4 === null) return;
    const owner = this.q.byIp.get(ipv4) as HostRow | undefined;
    if (owner && owner.name !== self) {
      throw new KickstandError(ErrorCode.IP_IN_USE, `${ipv4} is already reserved for host ${owner.name}`, {
        field: 'ipv4',
        fix: 'pick a free address, or leave it empty to lease from the pool',
      });
    }
  }

  private insertMacs(host: string, macs: string[]): void {
    macs.forEach((mac, i) => {
      const owner = this.q.macOwner.get(mac) as { host: string } | undefined;
      if (owner) {
        throw new KickstandError(ErrorCode.MAC_IN_USE, `MAC ${mac} already belongs to host ${owner.host}`, {
          field: `macs[${i}]`,
          fix: `remove it from ${owner.host} first (kickstand host set ${owner.host} --mac …), or check the MAC`,
        });
      }
      this.q.insertMac.run(mac, host, i);
    });
  }

  private toHost(row: HostRow): Host {
    const macs = (this.q.macsOf.all(row.name) as Array<{ mac: string }>).map((r) => r.mac);
    return rowToHost(row, macs);
  }
}

function rowToHost(row: HostRow, macs: string[]): Host {
  return {
    name: row.name,
    macs,
    profile: row.profile,
    role: row.role,
    ipv4: row.ipv4,
    vars: JSON.parse(row.vars) as Record<string, string>,
    netboot: row.netboot === 1,
    state: row.state as HostState,
    stateReason: row.state_reason,
    sshHostKeys: JSON.parse(row.ssh_host_keys) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}
