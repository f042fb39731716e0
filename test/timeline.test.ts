/**
 * withTimeline publishes every event the wrapped store commits, also the one a kickstart's
 * fetch claim writes in its own transaction (TokenRepo.claimFetchWithEvent).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostEvent } from '../src/model/event';
import { openSqliteStore } from '../src/store/sqlite';
import { Timeline, withTimeline } from '../src/timeline';

describe('withTimeline', () => {
  it('publishes appended events and the event of a fetch claim, after their commit', async () => {
    const raw = openSqliteStore(':memory:');
    const timeline = new Timeline();
    const seen: HostEvent[] = [];
    timeline.subscribe((e) => seen.push(e));
    const store = withTimeline(raw, timeline);
    try {
      await store.hosts.create({
        name: 'tl',
        macs: ['52:54:00:00:0e:01'],
        profile: 'rocky9',
        role: 'agent',
        ipv4: null,
        vars: {},
        netboot: true,
        state: 'armed',
      });
      const a = await store.events.append({ host: 'tl', kind: 'host.created', message: 'a' });
      await store.tokens.issue({ token: 'tl-token-0123456789', host: 'tl', issuedAt: 1, expiresAt: 100 });
      const c = await store.tokens.claimFetchWithEvent('tl-token-0123456789', 5, (claim) => ({
        host: 'tl',
        kind: 'kickstart.fetched',
        message: `first ${claim.first}`,
      }));
      assert.equal(c.claim.first, true);
      assert.deepEqual(seen, [a, c.event]);
      assert.deepEqual((await store.events.list({ host: 'tl' })).at(-1), c.event);
      // The rest of the token repo passes through.
      assert.equal((await store.tokens.get('tl-token-0123456789'))?.fetchedAt, 5);
    } finally {
      await raw.close();
    }
  });
});
