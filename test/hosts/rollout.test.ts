/**
 * Rolling rebuilds kept in the store (hosts/rollout.ts, docs/api.md "Rolling rebuilds"), on a
 * SQLite store in memory with the real registry and the real reimage (no BMC):
 * - the resume rule: a rollout whose driver is gone is adopted and resumed from its stored
 *   batch; of that batch only the hosts neither recorded as reimaged, nor on their way back to
 *   ready, nor armed by this rollout since the batch started (its timeline) are reimaged;
 * - the fence: a driver whose rollout another daemon adopted stops at its next write, and every
 *   host is still reimaged once.
 * Stand-in, named: no machine boots; the test moves re-armed hosts on to `ready` through the
 * registry, as the installer's callbacks and the bootstrap would (test/hosts/lifecycle.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/schema';
import { HostRegistry } from '../../src/hosts/registry';
import { reimage } from '../../src/hosts/reimage';
import { Rollouts } from '../../src/hosts/rollout';
import { silentLogger } from '../../src/log';
import type { HostState } from '../../src/model/host';
import type { Rollout } from '../../src/model/rollout';
import { openSqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/store';
import { Timeline, withTimeline } from '../../src/timeline';

const config = {
  profiles: { rocky9: {} },
  network: { subnet: '198.18.0.0/24', address: '198.18.0.1' },
} as unknown as Pick<Config, 'profiles' | 'network'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One store, its registry and a way to build a daemon's Rollouts on it. */
function fixture() {
  const timeline = new Timeline();
  const raw = openSqliteStore(':memory:');
  const store: Store = withTimeline(raw, timeline);
  const registry = new HostRegistry(store, config);
  const reimaged: string[] = [];
  const rollouts = (daemon: string) =>
    new Rollouts({
      registry,
      store,
      timeline,
      log: silentLogger(),
      daemon,
      claimTtlMs: 1000,
      scanMs: 100,
      pollMs: 50,
      reimage: async (name, opts) => {
        const h = await reimage({ registry, store, log: silentLogger() }, name, opts);
        reimaged.push(name);
        return h;
      },
    });
  /** The stand-in installer and bootstrap: from wherever the host is on the way, to `ready`. */
  const toReady = async (name: string): Promise<void> => {
    const path: HostState[] = ['installing', 'installed', 'bootstrapping', 'ready'];
    const at = (await registry.require(name)).state;
    for (const st of path.slice(at === 'armed' ? 0 : path.indexOf(at) + 1))
      await registry.transition(name, st, `stand-in: ${st}`);
  };
  const waitFor = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    let v = await get();
    for (let i = 0; i < 200 && !ok(v); i += 1) {
      await sleep(25);
      v = await get();
    }
    assert.ok(ok(v), `${what}: ${JSON.stringify(v)}`);
    return v;
  };
  const armedBy = async (name: string, cause: RegExp): Promise<number> =>
    (await store.events.list({ host: name })).filter(
      (e) => e.kind === 'host.state' && e.data.to === 'armed' && cause.test(String(e.data.cause)),
    ).length;
  /** The `rollout.*` events so far. */
  const progress = async () =>
    (await store.events.list({ limit: 10_000 })).filter((e) => e.kind.startsWith('rollout.'));
  return { raw, store, registry, reimaged, rollouts, toReady, waitFor, armedBy, progress };
}

describe('rolling rebuilds in the store', () => {
  it('resumes the stored batch: reimages only the hosts not yet reimaged by this rollout', async () => {
    const f = fixture();
    const names = ['h1', 'h2', 'h3', 'h4', 'h5'];
    for (const [i, name] of names.entries()) {
      await f.registry.add({ name, macs: [`52:54:00:00:61:0${i + 1}`], profile: 'rocky9', role: 'rack' });
      await f.toReady(name);
    }
    const id = '0badc0de-0000-4000-8000-000000000001';
    const cause = `rolling rebuild ${id.slice(0, 8)}`;
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const batchStartedAt = new Date(Date.now() - 30_000).toISOString();
    // Where the dead driver ("old") left it, in batch 1 of 2:
    // h1: its reimage recorded, and already back to ready;
    await f.registry.transition('h1', 'armed', cause);
    await f.toReady('h1');
    // h2: armed by this rollout, the record of it lost with the driver, back to ready;
    await f.registry.transition('h2', 'armed', cause);
    await f.toReady('h2');
    // h3: re-armed (by this rollout or anyone) and installing, not recorded;
    await f.registry.transition('h3', 'armed', cause);
    await f.registry.transition('h3', 'installing', 'stand-in: installing');
    // h4: not reached yet (ready, never armed by this rollout).
    const stored: Rollout = {
      id,
      role: 'rack',
      request: { maxUnavailable: 4, powerCycle: false, timeoutMs: 3_600_000 },
      state: 'running',
      batches: [['h1', 'h2', 'h3', 'h4'], ['h5']],
      batch: 0,
      done: [],
      reimaged: ['h1'],
      failedHost: null,
      reason: null,
      step: 2,
      startedAt,
      batchStartedAt,
      finishedAt: null,
      updatedAt: batchStartedAt,
      daemon: 'old',
    };
    await f.store.rollouts.create(stored);
    // The dead driver's claim has expired.
    await f.store.claims.take(`rollout:${id}`, 'old', Date.now() - 1);

    const r = f.rollouts('new');
    await r.service.start();
    try {
      const adopted = await f.waitFor(
        'h4 reimaged',
        () => f.store.rollouts.get(id),
        (s) => s?.reimaged.includes('h4') === true,
      );
      assert.equal(adopted!.daemon, 'new');
      assert.equal(adopted!.batch, 0);
      assert.deepEqual([...adopted!.reimaged].sort(), ['h1', 'h2', 'h3', 'h4']);
      assert.deepEqual(f.reimaged, ['h4'], 'only the host this rollout had not reimaged');
      assert.equal((await f.registry.require('h4')).state, 'armed');
      assert.equal((await f.registry.require('h3')).state, 'installing', 'h3 left to its install');

      await f.toReady('h3');
      await f.toReady('h4');
      await f.waitFor(
        'batch 2',
        () => f.registry.require('h5'),
        (h) => h.state === 'armed',
      );
      await f.toReady('h5');
      const done = await f.waitFor(
        'done',
        () => f.store.rollouts.get(id),
        (s) => s?.state === 'done',
      );
      assert.deepEqual(done!.done, ['h1', 'h2', 'h3', 'h4', 'h5']);
      assert.deepEqual(f.reimaged, ['h4', 'h5']);
      for (const n of names) assert.equal(await f.armedBy(n, /^rolling rebuild 0badc0de$/), 1, `${n} armed once`);
      // The row is written before the event that reports it: wait for the event.
      const kinds = (await f.waitFor('the done event', f.progress, (ev) => ev.at(-1)?.kind === 'rollout.done')).map(
        (e) => [e.kind, e.data.step],
      );
      assert.deepEqual(kinds, [
        ['rollout.resumed', 3],
        ['rollout.batch', 4],
        ['rollout.done', 5],
      ]);
    } finally {
      await r.service.stop();
      await f.raw.close();
    }
  });

  it('a batch whose driver was gone past its timeout is not carried on: it fails, no host reimaged', async () => {
    const f = fixture();
    for (const [i, name] of ['t1', 't2'].entries()) {
      await f.registry.add({ name, macs: [`52:54:00:00:65:0${i + 1}`], profile: 'rocky9', role: 'late' });
      await f.toReady(name);
    }
    const id = '0badc0de-0000-4000-8000-000000000002';
    const long = new Date(Date.now() - 120_000).toISOString();
    await f.registry.transition('t1', 'armed', `rolling rebuild ${id.slice(0, 8)}`);
    await f.store.rollouts.create({
      id,
      role: 'late',
      request: { maxUnavailable: 2, powerCycle: false, timeoutMs: 60_000 },
      state: 'running',
      batches: [['t1', 't2']],
      batch: 0,
      done: [],
      reimaged: ['t1'],
      failedHost: null,
      reason: null,
      step: 2,
      startedAt: long,
      batchStartedAt: long,
      finishedAt: null,
      updatedAt: long,
      daemon: 'old',
    });
    const r = f.rollouts('new');
    await r.service.start();
    try {
      const s = await f.waitFor(
        'finished',
        () => f.store.rollouts.get(id),
        (x) => x?.state !== 'running',
      );
      assert.equal(s!.state, 'failed');
      assert.equal(s!.reason, 'batch t1, t2 not ready after 60 s');
      assert.deepEqual(f.reimaged, [], 't2 is not reimaged past the batch timeout');
      assert.equal((await f.registry.require('t2')).state, 'ready');
    } finally {
      await r.service.stop();
      await f.raw.close();
    }
  });

  it('a driver whose rollout another daemon adopted stops at its next write; each host is reimaged once', async () => {
    const f = fixture();
    for (const [i, name] of ['g1', 'g2'].entries()) {
      await f.registry.add({ name, macs: [`52:54:00:00:62:0${i + 1}`], profile: 'rocky9', role: 'grid' });
      await f.toReady(name);
    }
    const a = f.rollouts('a');
    const b = f.rollouts('b');
    await a.service.start();
    try {
      const started = await a.start({ role: 'grid', maxUnavailable: 1, powerCycle: false, timeoutMs: 3_600_000 });
      assert.equal(started.daemon, 'a');
      await f.waitFor(
        'g1 armed',
        () => f.registry.require('g1'),
        (h) => h.state === 'armed',
      );
      // a's claim lapses (as if a had been cut off from the database for a whole TTL) and b
      // takes it before a renews (both writes in one group commit, in this order); b, starting,
      // adopts the rollout.
      const key = `rollout:${started.id}`;
      const [, taken] = await Promise.all([
        f.store.claims.release(key, 'a'),
        f.store.claims.take(key, 'b', Date.now() + 60_000),
      ]);
      assert.equal(taken, true);
      await b.service.start();
      assert.equal((await f.store.rollouts.get(started.id))?.daemon, 'b');
      await f.toReady('g1');
      await f.waitFor(
        'g2 armed',
        () => f.registry.require('g2'),
        (h) => h.state === 'armed',
      );
      await f.toReady('g2');
      const done = await f.waitFor(
        'done',
        () => f.store.rollouts.get(started.id),
        (s) => s?.state === 'done',
      );
      assert.equal(done!.daemon, 'b');
      assert.deepEqual(f.reimaged, ['g1', 'g2'], 'one reimage per host, a and b together');
      const events = await f.waitFor('the done event', f.progress, (ev) => ev.at(-1)?.kind === 'rollout.done');
      assert.deepEqual(
        events.map((e) => e.kind),
        ['rollout.started', 'rollout.batch', 'rollout.resumed', 'rollout.batch', 'rollout.done'],
      );
      assert.deepEqual(
        events.map((e) => e.data.step),
        [1, 2, 3, 4, 5],
        'no event of a after b took over',
      );
    } finally {
      await Promise.all([a.service.stop(), b.service.stop()]);
      await f.raw.close();
    }
  });
});
