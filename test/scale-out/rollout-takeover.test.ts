/**
 * A rolling rebuild on two daemons sharing a PostgreSQL (docs/scale-out.md, hosts/rollout.ts):
 * daemon A (`kickstand serve`, a child process) starts it; daemon B (buildDaemon, in process)
 * lists it at once; A is killed with SIGKILL mid-rollout; once A's claim has expired (a 2 s
 * `store.rolloutClaimTtlMs` here) B adopts the rollout, resumes it at its stored batch without
 * reimaging the host A re-armed, and finishes it. No root needed beyond the private PostgreSQL.
 * Stand-in, named: no machine boots; the test moves each re-armed host on to `ready` through
 * B's registry, as the installer's callbacks and the bootstrap would (test/hosts/lifecycle.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';
import type { HostState } from '../../src/model/host';
import type { Rollout } from '../../src/model/rollout';
import { DaemonProcess, testConfig } from '../helpers/daemon';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';

const why = postgresSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a rolling rebuild on two daemons sharing PostgreSQL', { skip: why }, () => {
  const server = new PrivatePostgres(pgBinDir()!);
  const scratch = mkdtempSync(join(tmpdir(), 'ks-pg-rollout-'));
  before(() => server.start());
  after(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('started through A, listed by B; A killed: B resumes it after the claim expires and finishes it', async () => {
    const url = await server.createDatabase('rollouts');
    const store = (name: string) => ({ kind: 'postgres', url, daemonName: name, rolloutClaimTtlMs: 2000 });
    const a = new DaemonProcess((dir) => testConfig(dir, { store: store('site-a') }));
    const bDir = join(scratch, 'b');
    const bFile = join(scratch, 'b.yaml');
    writeFileSync(bFile, stringify(testConfig(bDir, { store: store('site-b') })));
    let b: Daemon | undefined;
    try {
      await a.start();
      b = buildDaemon(loadConfig({ file: bFile, env: {} }), { log: silentLogger() });
      await b.start();
      const viaB = b;
      const bApi = async (path: string) => {
        const token = readFileSync(join(bDir, 'state', 'api-token'), 'utf8').trim();
        const res = await fetch(`${viaB.api.url()}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as Rollout & { rollouts: Rollout[] } };
      };
      const toReady = async (name: string): Promise<void> => {
        for (const st of ['installing', 'installed', 'bootstrapping', 'ready'] as HostState[])
          await viaB.registry.transition(name, st, `stand-in: ${st}`);
      };
      const waitFor = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
        let v = await get();
        for (let i = 0; i < 600 && !ok(v); i += 1) {
          await sleep(50);
          v = await get();
        }
        assert.ok(ok(v), `${what}: ${JSON.stringify(v)}`);
        return v;
      };
      for (const [i, name] of ['q1', 'q2'].entries()) {
        await viaB.registry.add({ name, macs: [`52:54:00:00:64:0${i + 1}`], profile: 'rocky9', role: 'rack' });
        await toReady(name);
      }

      const started = await a.api('POST', '/rollouts', { role: 'rack', maxUnavailable: 1 });
      assert.equal(started.status, 202, JSON.stringify(started.json));
      const id = (started.json as Rollout).id;
      // B lists A's rollout: it is in the database, not in A's memory.
      const listed = (await bApi('/rollouts')).body.rollouts;
      assert.deepEqual(
        listed.map((r) => [r.id, r.state, r.daemon]),
        [[id, 'running', 'site-a']],
      );
      assert.equal((await bApi(`/rollouts/${id}`)).status, 200);
      await waitFor(
        "A's reimage of q1 recorded",
        async () => (await bApi(`/rollouts/${id}`)).body.reimaged,
        (r) => r.includes('q1'),
      );

      await a.kill('SIGKILL');
      await toReady('q1');
      // B adopts the rollout once A's claim has expired, and goes on with batch 2.
      await waitFor(
        'B drives it',
        async () => (await bApi(`/rollouts/${id}`)).body.daemon,
        (d) => d === 'site-b',
      );
      await waitFor(
        'q2 armed',
        async () => (await viaB.registry.require('q2')).state,
        (s) => s === 'armed',
      );
      await toReady('q2');
      const done = await waitFor(
        'done',
        async () => (await bApi(`/rollouts/${id}`)).body,
        (s) => s.state !== 'running',
      );
      assert.equal(done.state, 'done', JSON.stringify(done));
      assert.deepEqual(done.done, ['q1', 'q2']);
      for (const n of ['q1', 'q2']) {
        const armed = (await viaB.store.events.list({ host: n })).filter(
          (e) => e.kind === 'host.state' && /^rolling rebuild/.test(String(e.data.cause)),
        );
        assert.deepEqual(
          armed.map((e) => e.daemon),
          [n === 'q1' ? 'site-a' : 'site-b'],
          `${n} reimaged once`,
        );
      }
      // The row is written before the event that reports it: wait for the event.
      const progress = (
        await waitFor(
          'the done event',
          async () => (await viaB.store.events.list({ limit: 10_000 })).filter((e) => e.kind.startsWith('rollout.')),
          (ev) => ev.at(-1)?.kind === 'rollout.done',
        )
      ).map((e) => [e.kind, e.daemon]);
      assert.deepEqual(progress, [
        ['rollout.started', 'site-a'],
        ['rollout.batch', 'site-a'],
        ['rollout.resumed', 'site-b'],
        ['rollout.batch', 'site-b'],
        ['rollout.done', 'site-b'],
      ]);
    } finally {
      await a.cleanup();
      await b?.stop();
    }
  });
});
