/** Coalesced mesh syncs: requests during a run share exactly one follow-up run. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/mesh/coalesce';

describe('Coalescer', () => {
  it('serves N concurrent requests with two runs, each caller after a run that started after it', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const c = new Coalescer(async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
    });
    const first = c.request();
    const later = [c.request(), c.request(), c.request()];
    release();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 2);
    release();
    await Promise.all(later);
    assert.equal(runs, 2);
  });

  it('a failed run rejects its callers but does not wedge later requests', async () => {
    let n = 0;
    const c = new Coalescer(async () => {
      if (++n === 1) throw new Error('boom');
    });
    await assert.rejects(c.request(), /boom/);
    await c.request();
    assert.equal(n, 2);
  });
});
