/**
 * The registry keeps model/host-state.ts's rule: every state change it writes is checked
 * against TRANSITIONS (checkTransition), the operator's arm and disarm included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/schema';
import { HostRegistry } from '../../src/hosts/registry';
import { TRANSITIONS } from '../../src/model/host-state';
import type { HostState } from '../../src/model/host';
import { openSqliteStore } from '../../src/store/sqlite';

const config = {
  profiles: { rocky9: {} },
  network: { subnet: '198.18.0.0/24', address: '198.18.0.1' },
} as unknown as Pick<Config, 'profiles' | 'network'>;

/** Runs `fn` with `from → to` removed from the transition table, then restores it. */
async function without<T>(from: HostState, to: HostState, fn: () => Promise<T>): Promise<T> {
  const table = TRANSITIONS as Record<HostState, readonly HostState[]>;
  const saved = table[from];
  table[from] = saved.filter((s) => s !== to);
  try {
    return await fn();
  } finally {
    table[from] = saved;
  }
}

describe('host registry: state changes go through checkTransition', () => {
  it('disarm (netboot off on an armed host) is armed → registered, checked and recorded', async () => {
    const store = openSqliteStore(':memory:');
    try {
      const reg = new HostRegistry(store, config);
      await reg.add({ name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9' });
      // With armed → registered illegal, the disarm must be refused and nothing written.
      await assert.rejects(
        without('armed', 'registered', () => reg.update('n1', { netboot: false })),
        { code: 'KS_ILLEGAL_TRANSITION' },
      );
      const still = await reg.require('n1');
      assert.equal(still.state, 'armed');
      assert.equal(still.netboot, true);
      const h = await reg.update('n1', { netboot: false });
      assert.equal(h.state, 'registered');
      const ev = (await store.events.list({ host: 'n1' })).filter((e) => e.kind === 'host.state');
      assert.deepEqual(
        ev.map((e) => e.data),
        [{ from: 'armed', to: 'registered', cause: 'disarmed by operator' }],
      );
    } finally {
      await store.close();
    }
  });

  it('arm (netboot on) is checked too', async () => {
    const store = openSqliteStore(':memory:');
    try {
      const reg = new HostRegistry(store, config);
      await reg.add({ name: 'n2', macs: ['52:54:00:00:00:02'], profile: 'rocky9', netboot: false });
      await assert.rejects(
        without('registered', 'armed', () => reg.update('n2', { netboot: true })),
        { code: 'KS_ILLEGAL_TRANSITION' },
      );
      assert.equal((await reg.require('n2')).state, 'registered');
      assert.equal((await reg.update('n2', { netboot: true })).state, 'armed');
    } finally {
      await store.close();
    }
  });
});
