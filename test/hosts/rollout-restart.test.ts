/**
 * A rolling rebuild survives a restart of the daemon that drives it (SQLite store; hosts/
 * rollout.ts, docs/api.md "Rolling rebuilds"): the real daemon (buildDaemon, in process) is
 * stopped mid-rollout and a new one built on the same state directory; it lists the rollout,
 * resumes it from the stored batch without reimaging the host already re-armed, and finishes it.
 * Stand-in, named: no machine boots; the test moves each re-armed host on to `ready` through
 * the daemon's registry, as the installer's callbacks and the bootstrap would
 * (test/hosts/lifecycle.test.ts, test/console/rollout.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';
import type { HostState } from '../../src/model/host';
import type { Rollout } from '../../src/model/rollout';
import { testConfig } from '../helpers/daemon';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rolling rebuild across a daemon restart (SQLite)', () => {
  it('the restarted daemon lists it, resumes it at its batch and finishes it; no host is reimaged twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-rollout-restart-'));
    const file = join(dir, 'kickstand.yaml');
    writeFileSync(file, stringify(testConfig(dir)));
    const build = (): Daemon => buildDaemon(loadConfig({ file, env: {} }), { log: silentLogger() });
    let d = build();
    const api = async (method: string, path: string, body?: unknown) => {
      const token = readFileSync(join(dir, 'state', 'api-token'), 'utf8').trim();
      const res = await fetch(`${d.api.url()}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Rollout & { rollouts: Rollout[] } };
    };
    const toReady = async (name: string): Promise<void> => {
      for (const st of ['installing', 'installed', 'bootstrapping', 'ready'] as HostState[])
        await d.registry.transition(name, st, `stand-in: ${st}`);
    };
    const waitState = async (name: string, state: HostState): Promise<void> => {
      for (let i = 0; i < 400 && (await d.registry.require(name)).state !== state; i += 1) await sleep(25);
      assert.equal((await d.registry.require(name)).state, state, name);
    };
    try {
      await d.start();
      for (const [i, name] of ['k1', 'k2'].entries()) {
        await d.registry.add({ name, macs: [`52:54:00:00:63:0${i + 1}`], profile: 'rocky9', role: 'rack' });
        await toReady(name);
      }
      const started = await api('POST', '/rollouts', { role: 'rack', maxUnavailable: 1 });
      assert.equal(started.status, 202);
      const id = started.body.id;
      await waitState('k1', 'armed');
      for (let i = 0; i < 100 && !(await api('GET', `/rollouts/${id}`)).body.reimaged.includes('k1'); i += 1)
        await sleep(25);

      await d.stop();
      d = build();
      await d.start();

      // The new daemon lists it from the store, running, at batch 1 of 2 with k1 re-armed.
      const listed = (await api('GET', '/rollouts')).body.rollouts;
      assert.deepEqual(
        listed.map((r) => [r.id, r.state, r.batch, r.reimaged]),
        [[id, 'running', 0, ['k1']]],
      );
      await toReady('k1');
      await waitState('k2', 'armed');
      await toReady('k2');
      let s = (await api('GET', `/rollouts/${id}`)).body;
      for (let i = 0; i < 400 && s.state === 'running'; i += 1) {
        await sleep(25);
        s = (await api('GET', `/rollouts/${id}`)).body;
      }
      assert.equal(s.state, 'done', JSON.stringify(s));
      assert.deepEqual(s.done, ['k1', 'k2']);
      assert.equal(s.daemon, 'local');
      for (const n of ['k1', 'k2']) {
        const armed = (await d.store.events.list({ host: n })).filter(
          (e) => e.kind === 'host.state' && /^rolling rebuild/.test(String(e.data.cause)),
        );
        assert.equal(armed.length, 1, `${n} reimaged once`);
      }
      // The row is written before the event that reports it: wait (bounded) for the event.
      const kinds = async () =>
        (await d.store.events.list({ limit: 10_000 })).filter((e) => e.kind.startsWith('rollout.')).map((e) => e.kind);
      for (let i = 0; i < 200 && (await kinds()).at(-1) !== 'rollout.done'; i += 1) await sleep(25);
      assert.deepEqual(await kinds(), [
        'rollout.started',
        'rollout.batch',
        'rollout.resumed',
        'rollout.batch',
        'rollout.done',
      ]);
      const gone = await api('GET', '/rollouts/no-such-rollout');
      assert.equal(gone.status, 404);
      assert.doesNotMatch(JSON.stringify(gone.body), /until the daemon restarts/);
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
