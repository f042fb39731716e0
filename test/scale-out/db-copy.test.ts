/**
 * `kickstand db copy --from <sqlite> --to <postgres url>` (store/copy.ts, docs/scale-out.md),
 * through the real CLI: a SQLite store with a row in every table is copied into a private
 * PostgreSQL and verified (counts, SHA-256 per table); the PostgreSQL store then reads the same
 * hosts, leases, events and settings; a second copy into the now non-empty database is refused
 * unless --force. No root.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres';
import { openSqliteStore } from '../../src/store/sqlite';
import { runCli } from '../helpers/daemon';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';

const why = postgresSkipReason();

describe('kickstand db copy: SQLite into PostgreSQL', { skip: why }, () => {
  const server = new PrivatePostgres(pgBinDir()!);
  const dir = mkdtempSync(join(tmpdir(), 'ks-db-copy-'));
  before(() => server.start());
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every table, verified; refuses a non-empty target unless --force', async () => {
    const file = join(dir, 'kickstand.db');
    const src = openSqliteStore(file);
    const host = (name: string, mac: string, ipv4: string | null) =>
      src.hosts.create({
        name,
        macs: [mac],
        profile: 'rocky9',
        role: 'agent',
        ipv4,
        vars: { tz: 'UTC', zone: 'b', arch: 'x86_64' },
        netboot: name === 'n1',
        state: 'armed',
      });
    await host('n1', '52:54:00:00:50:01', '198.18.0.21');
    await host('n2', '52:54:00:00:50:02', null);
    await src.leases.put({
      ip: '198.18.0.100',
      mac: '52:54:00:00:50:02',
      clientId: null,
      hostname: 'n2',
      state: 'bound',
      expiresAt: Date.now() + 3_600_000,
      updatedAt: Date.now(),
    });
    for (let i = 0; i < 5; i += 1) await src.events.append({ host: 'n1', kind: 'host.updated', message: `e${i}` });
    await src.tokens.issue({ token: 'tok-1', host: 'n1', issuedAt: Date.now(), expiresAt: Date.now() + 60_000 });
    await src.settings.set('k3s.token', 'not-a-real-secret');
    await src.mesh.allocate('n1', '198.19.0.0/29');
    await src.bmc.set('n2', { type: 'ipmi', address: '198.18.0.10:623', username: 'admin', password: 'pw' });
    await src.serverWaits.add('n2');
    await src.claims.take('bootstrap:n1', 'site-a', Date.now() + 60_000);
    const rollout = {
      id: '5a1e0000-0000-4000-8000-000000000001',
      role: 'agent',
      request: { maxUnavailable: 1, powerCycle: true, timeoutMs: 600_000 },
      state: 'running' as const,
      batches: [['n1'], ['n2']],
      batch: 0,
      done: [],
      reimaged: ['n1'],
      failedHost: null,
      reason: null,
      step: 2,
      startedAt: '2026-12-07T10:00:00.000Z',
      batchStartedAt: '2026-12-07T10:00:01.000Z',
      finishedAt: null,
      updatedAt: '2026-12-07T10:00:02.000Z',
      daemon: 'local',
    };
    await src.rollouts.create(rollout);
    await src.close();

    const url = await server.createDatabase('copied');
    const first = runCli(['db', 'copy', '--from', file, '--to', url, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const tables = (JSON.parse(first.stdout) as { tables: { table: string; rows: number; sha256: string }[] }).tables;
    const rows = Object.fromEntries(tables.map((t) => [t.table, t.rows]));
    assert.deepEqual(rows, {
      hosts: 2,
      host_macs: 2,
      install_tokens: 1,
      events: 5,
      leases: 1,
      settings: 1,
      mesh_members: 1,
      host_bmc: 1,
      k3s_server_waits: 1,
      work_claims: 1,
      rollouts: 1,
    });
    for (const t of tables) assert.match(t.sha256, /^[0-9a-f]{64}$/);

    const pg = await openPostgresStore({ connectionString: url });
    try {
      assert.deepEqual(
        (await pg.hosts.list()).map((h) => [h.name, h.ipv4, h.netboot, h.vars]),
        [
          ['n1', '198.18.0.21', true, { tz: 'UTC', zone: 'b', arch: 'x86_64' }],
          ['n2', null, false, { tz: 'UTC', zone: 'b', arch: 'x86_64' }],
        ],
      );
      assert.equal(pg.hostLookup.byMac('52:54:00:00:50:02')?.name, 'n2');
      assert.equal((await pg.leases.get('198.18.0.100'))?.mac, '52:54:00:00:50:02');
      assert.deepEqual(
        (await pg.events.list({ host: 'n1' })).map((e) => e.message),
        ['e0', 'e1', 'e2', 'e3', 'e4'],
      );
      // The event id sequence continues after the copied ids.
      const next = await pg.events.append({ host: 'n1', kind: 'host.updated', message: 'after the copy' });
      assert.ok(next.id > 5);
      assert.equal((await pg.tokens.get('tok-1'))?.host, 'n1');
      assert.equal(await pg.claims.take('bootstrap:n1', 'site-b', Date.now() + 1000), false, 'claims copied');
      assert.deepEqual(await pg.rollouts.get(rollout.id), rollout, 'a running rollout goes on from the copy');
    } finally {
      await pg.close();
    }

    const again = runCli(['db', 'copy', '--from', file, '--to', url]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /KS_STATE_NOT_EMPTY|already holds rows/);
    const forced = runCli(['db', 'copy', '--from', file, '--to', url, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /every table verified/);
  });
});
