/**
 * @module store/sqlite/migrations
 * Schema migrations, applied in version order, each in its own transaction, recorded in
 * `schema_migrations`. A migration is never edited after it ships: add a new one.
 * A database from a newer Kickstand (a version we do not know) is refused, not guessed at.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE hosts (
        name          TEXT PRIMARY KEY,
        profile       TEXT NOT NULL,
        role          TEXT NOT NULL,
        ipv4          TEXT UNIQUE,
        vars          TEXT NOT NULL DEFAULT '{}',
        netboot       INTEGER NOT NULL DEFAULT 0,
        state         TEXT NOT NULL,
        state_reason  TEXT,
        ssh_host_keys TEXT NOT NULL DEFAULT '[]',
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        version       INTEGER NOT NULL DEFAULT 1
      ) STRICT;
      CREATE TABLE host_macs (
        mac      TEXT PRIMARY KEY,
        host     TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        position INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX host_macs_host ON host_macs(host);
      CREATE TABLE events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        ts      TEXT NOT NULL,
        host    TEXT,
        mac     TEXT,
        kind    TEXT NOT NULL,
        level   TEXT NOT NULL,
        message TEXT NOT NULL,
        data    TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      CREATE INDEX events_host ON events(host, id);
      CREATE TABLE leases (
        ip         TEXT PRIMARY KEY,
        mac        TEXT NOT NULL,
        client_id  TEXT,
        hostname   TEXT,
        state      TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX leases_mac ON leases(mac, updated_at);
      CREATE INDEX leases_client_id ON leases(client_id, updated_at);
      CREATE TABLE install_tokens (
        token      TEXT PRIMARY KEY,
        host       TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        issued_at  INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        fetched_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX install_tokens_host ON install_tokens(host, revoked_at);
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Version 3: WireGuard mesh membership (bootstrapper). Versions 2 and 4 belong to other subsystems.
    version: 3,
    name: 'mesh',
    sql: `
      CREATE TABLE mesh_members (
        host        TEXT PRIMARY KEY,
        address     TEXT NOT NULL UNIQUE,
        public_key  TEXT UNIQUE,
        endpoint    TEXT,
        listen_port INTEGER,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Version 4: per-host BMC settings (lifecycle). `config` is JSON holding the credentials:
    // the database lives in the 0700 state directory, is created 0600, and the API never
    // returns the password (bmc/config.ts publicBmcConfig).
    version: 4,
    name: 'bmc',
    sql: `
      CREATE TABLE host_bmc (
        host       TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        config     TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    // Version 5: agents waiting for a k3s server (bootstrapper), kept across restarts.
    version: 5,
    name: 'k3s_server_waits',
    sql: `
      CREATE TABLE k3s_server_waits (
        host  TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        since TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'event_daemon',
    // The PostgreSQL store records which daemon wrote an event; one daemon uses this store, so
    // the column stays empty here (same schema versions in both stores).
    sql: `ALTER TABLE events ADD COLUMN daemon TEXT;`,
  },
  {
    version: 7,
    name: 'work_claims',
    // Work claimed by one daemon (store.ts ClaimRepo; docs/scale-out.md).
    sql: `
      CREATE TABLE work_claims (
        key        TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: 'rollouts',
    // Rolling rebuilds, kept across restarts and shared by daemons (store.ts RolloutRepo;
    // docs/scale-out.md). JSON columns: batches string[][], done and reimaged string[].
    sql: `
      CREATE TABLE rollouts (
        id               TEXT PRIMARY KEY,
        role             TEXT NOT NULL,
        max_unavailable  INTEGER NOT NULL,
        power_cycle      INTEGER NOT NULL,
        timeout_ms       INTEGER NOT NULL,
        state            TEXT NOT NULL,
        batches          TEXT NOT NULL,
        batch            INTEGER NOT NULL,
        done             TEXT NOT NULL,
        reimaged         TEXT NOT NULL,
        failed_host      TEXT,
        reason           TEXT,
        step             INTEGER NOT NULL,
        started_at       TEXT NOT NULL,
        batch_started_at TEXT NOT NULL,
        finished_at      TEXT,
        updated_at       TEXT NOT NULL,
        daemon           TEXT NOT NULL
      ) STRICT;
      CREATE INDEX rollouts_state ON rollouts(state, finished_at);
    `,
  },
];
