/**
 * The body pump's buffer pool: size classes, reuse, and the active-response budget that keeps
 * a boot storm's memory bounded (G16).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBufferPool } from '../../src/http/assets/pump';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('buffer pool', () => {
  it('hands out the smallest class that holds the read', () => {
    const p = createBufferPool({ chunkSize: MiB, maxIdleBytes: 8 * MiB, activeBudget: 96 * MiB });
    p.enter();
    assert.equal(p.take(4 * KiB).length, 64 * KiB);
    assert.equal(p.take(100 * KiB).length, 256 * KiB);
    assert.equal(p.take(300 * KiB).length, MiB);
    assert.equal(p.take(5 * MiB).length, MiB);
  });

  it('reuses returned buffers and bounds idle bytes', () => {
    const p = createBufferPool({ chunkSize: MiB, maxIdleBytes: MiB, activeBudget: 96 * MiB });
    p.enter();
    const a = p.take(MiB);
    const b = p.take(MiB);
    p.give(a);
    p.give(b); // over maxIdleBytes: dropped
    assert.equal(p.take(MiB), a);
    assert.notEqual(p.take(MiB), b);
  });

  it('shrinks chunks as responses multiply: 200 active share the budget, ≥ 64 KiB each', () => {
    const p = createBufferPool({ chunkSize: MiB, maxIdleBytes: 0, activeBudget: 96 * MiB });
    for (let i = 0; i < 64; i++) p.enter();
    assert.equal(p.take(MiB).length, MiB); // 96 MiB / 64 = 1.5 MiB each
    for (let i = 0; i < 136; i++) p.enter(); // 200 active: 480 KiB each
    assert.equal(p.take(MiB).length, 256 * KiB);
    for (let i = 0; i < 1800; i++) p.enter(); // 2,000 active: the floor
    assert.equal(p.take(MiB).length, 64 * KiB);
    for (let i = 0; i < 1999; i++) p.leave();
    assert.equal(p.take(MiB).length, MiB);
  });
});
