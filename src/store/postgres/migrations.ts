/**
 * @module store/postgres/migrations
 * The PostgreSQL schema, version for version the same as store/sqlite/migrations.ts (a version
 * means the same tables and columns in both), applied under an advisory lock so that several
 * daemons starting together migrate once.
 */
import type { Migration } from '../sqlite/migrations';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE hosts (
        name          TEXT PRIMARY KEY,
        profile       TEXT NOT NULL,
        role          TEXT NOT NULL,
        ipv4          TEXT CONSTRAINT hosts_ipv4_key UNIQUE,
        vars          JSONB NOT NULL DEFAULT '{}',
        netboot       BOOLEAN NOT NULL DEFAULT false,
        state         TEXT NOT NULL,
        state_reason  TEXT,
        ssh_host_keys JSONB NOT NULL DEFAULT '[]',
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        version       INTEGER NOT NULL DEFAULT 1
      );
      CREATE TABLE host_macs (
        mac      TEXT PRIMARY KEY,
        host     TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        position INTEGER NOT NULL
      );
      CREATE INDEX host_macs_host ON host_macs(host);
      CREATE TABLE events (
        id      BIGSERIAL PRIMARY KEY,
        ts      TEXT NOT NULL,
        host    TEXT,
        mac     TEXT,
        kind    TEXT NOT NULL,
        level   TEXT NOT NULL,
        message TEXT NOT NULL,
        data    JSONB NOT NULL DEFAULT '{}'
      );
      CREATE INDEX events_host ON events(host, id);
      CREATE TABLE leases (
        ip         TEXT PRIMARY KEY,
        mac        TEXT NOT NULL,
        client_id  TEXT,
        hostname   TEXT,
        state      TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX leases_mac ON leases(mac, updated_at);
      CREATE INDEX leases_client_id ON leases(client_id, updated_at);
      CREATE TABLE install_tokens (
        token      TEXT PRIMARY KEY,
        host       TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        issued_at  BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        fetched_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX install_tokens_host ON install_tokens(host, revoked_at);
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
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
      );
    `,
  },
  {
    version: 4,
    name: 'bmc',
    sql: `
      CREATE TABLE host_bmc (
        host       TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        config     JSONB NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'k3s_server_waits',
    sql: `
      CREATE TABLE k3s_server_waits (
        host  TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE ON UPDATE CASCADE,
        since TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'event_daemon',
    // Which daemon recorded the event (store.daemonName; docs/scale-out.md).
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
        expires_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: 'rollouts',
    // Rolling rebuilds, kept across restarts and shared by daemons (store.ts RolloutRepo;
    // docs/scale-out.md).
    sql: `
      CREATE TABLE rollouts (
        id               TEXT PRIMARY KEY,
        role             TEXT NOT NULL,
        max_unavailable  INTEGER NOT NULL,
        power_cycle      BOOLEAN NOT NULL,
        timeout_ms       BIGINT NOT NULL,
        state            TEXT NOT NULL,
        batches          JSONB NOT NULL,
        batch            INTEGER NOT NULL,
        done             JSONB NOT NULL,
        reimaged         JSONB NOT NULL,
        failed_host      TEXT,
        reason           TEXT,
        step             INTEGER NOT NULL,
        started_at       TEXT NOT NULL,
        batch_started_at TEXT NOT NULL,
        finished_at      TEXT,
        updated_at       TEXT NOT NULL,
        daemon           TEXT NOT NULL
      );
      CREATE INDEX rollouts_state ON rollouts(state, finished_at);
    `,
  },
];
