/**
 * Install timeout (install/timeout.ts) on the real store and registry: an armed or installing
 * host past install.timeout moves to failed with an event, its token dies and netboot is
 * disarmed; deadlines come from the stored timeline, so a new service instance (a restart)
 * finds them; hosts that are younger, or in other states, are left alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { HostRegistry } from '../../src/hosts/registry';
import { buildInstallFlow } from '../../src/daemon/install';
import { InstallTimeoutService } from '../../src/install/timeout';
import { silentLogger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import { BOOTSTRAP_KEY, installConfig } from './harness';

const HOUR = 3600_000;

async function setup() {
  const config = installConfig({ install: { tokenTtl: 4 * 3600, timeout: 2 * 3600 } });
  const store = openSqliteStore(':memory:');
  const registry = new HostRegistry(store, config);
  const flow = buildInstallFlow({
    store,
    registry,
    config: () => config,
    log: silentLogger(),
    metrics: new Registry(),
    bootstrapPublicKey: async () => BOOTSTRAP_KEY,
  });
  const service = (now: number) =>
    new InstallTimeoutService({
      store,
      registry,
      tokens: flow.tokens,
      timeoutSeconds: () => config.install.timeout,
      log: silentLogger(),
      now: () => now,
    });
  return { store, registry, flow, service };
}

describe('install timeout', () => {
  it('moves an armed host past the timeout to failed, kills its token, disarms netboot', async () => {
    const { store, registry, service } = await setup();
    try {
      await registry.add({ name: 'slow', macs: ['52:54:00:00:01:01'], profile: 'rocky9', ipv4: '127.0.0.21' });
      const token = (await store.tokens.liveFor('slow'))!;
      assert.equal(await service(Date.now() + HOUR).scan(), 0, 'not yet');
      assert.equal((await registry.require('slow')).state, 'armed');
      assert.equal(await service(Date.now() + 2 * HOUR + 60_000).scan(), 1);
      const h = await registry.require('slow');
      assert.equal(h.state, 'failed');
      assert.equal(h.netboot, false);
      assert.match(h.stateReason ?? '', /install timed out: armed for \d+ s \(install.timeout 7200 s\)/);
      assert.notEqual((await store.tokens.get(token.token))!.revokedAt, null);
      const ev = (await store.events.list({ host: 'slow' })).filter((e) => e.kind === 'install.timeout');
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.level, 'error');
    } finally {
      await store.close();
    }
  });

  it('counts from when the host entered installing (restart-safe: a fresh service instance)', async () => {
    const { store, registry, service } = await setup();
    try {
      await registry.add({ name: 'inst', macs: ['52:54:00:00:01:02'], profile: 'rocky9', ipv4: '127.0.0.22' });
      await registry.transition('inst', 'installing', 'test: %pre');
      const entered = Date.parse(
        (await store.events.list({ host: 'inst' })).filter((e) => e.kind === 'host.state').at(-1)!.ts,
      );
      // A "restarted" daemon: new service objects, same store.
      assert.equal(await service(entered + 2 * HOUR - 60_000).scan(), 0);
      assert.equal(await service(entered + 2 * HOUR + 60_000).scan(), 1);
      assert.equal((await registry.require('inst')).state, 'failed');
    } finally {
      await store.close();
    }
  });

  it('leaves installed, registered and ready hosts alone', async () => {
    const { store, registry, service } = await setup();
    try {
      await registry.add({ name: 'off', macs: ['52:54:00:00:01:03'], profile: 'rocky9', netboot: false });
      await registry.add({ name: 'done', macs: ['52:54:00:00:01:04'], profile: 'rocky9' });
      await registry.transition('done', 'installed', 'test', { netboot: false });
      assert.equal(await service(Date.now() + 100 * HOUR).scan(), 0);
      assert.equal((await registry.require('off')).state, 'registered');
      assert.equal((await registry.require('done')).state, 'installed');
    } finally {
      await store.close();
    }
  });

  it('runs as a lifecycle service: the first scan happens at start', async () => {
    const { store, registry, flow } = await setup();
    try {
      await registry.add({ name: 'late', macs: ['52:54:00:00:01:05'], profile: 'rocky9' });
      const s = new InstallTimeoutService({
        store,
        registry,
        tokens: flow.tokens,
        timeoutSeconds: () => 7200,
        log: silentLogger(),
        now: () => Date.now() + 3 * HOUR,
        intervalMs: 50,
      });
      await s.start();
      await s.stop();
      assert.equal((await registry.require('late')).state, 'failed');
    } finally {
      await store.close();
    }
  });
});
