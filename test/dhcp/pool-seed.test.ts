/**
 * Where a daemon starts scanning its pool (dhcp/leases.ts `poolSeed`): at `poolStart` alone;
 * at its own point, from its name, when several daemons share one PostgreSQL, so an HA pair
 * does not offer the same addresses in the same order (docs/scale-out.md). Either way the scan
 * wraps and hands out every address of the pool once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subnetSchema } from '../../src/config/sections/network';
import { LeaseBook } from '../../src/dhcp/leases';
import { buildScope } from '../../src/dhcp/scope';
import { intToIp } from '../../src/model/ipv4';
import { openSqliteStore } from '../../src/store/sqlite';

const scope = buildScope(
  subnetSchema.parse({ subnet: '198.18.90.0/24', pool: { start: '198.18.90.10', end: '198.18.90.209' } }),
  true,
);
const noReservations = { byIp: () => undefined };

/** Offers the pool to `n` clients in turn: the addresses in the order they were handed out. */
function offers(book: LeaseBook, n: number): (string | undefined)[] {
  return Array.from({ length: n }, (_, i) => {
    const a = book.nextFree(scope, `client-${i}`, noReservations);
    if (a !== undefined) book.holdOffer(a, `client-${i}`, 60_000);
    return a === undefined ? undefined : intToIp(a);
  });
}

describe('dhcp/leases: where the pool scan starts', () => {
  const store = openSqliteStore(':memory:');
  const now = (): number => Date.UTC(2026, 0, 1);

  it('one daemon (no seed) starts at the first pool address', () => {
    assert.equal(offers(new LeaseBook(store.leases, now), 1)[0], '198.18.90.10');
  });

  it('two named daemons start at different points, the same one each time for a name', () => {
    const a = offers(new LeaseBook(store.leases, now, 'ks-a'), 1)[0];
    const b = offers(new LeaseBook(store.leases, now, 'ks-b'), 1)[0];
    assert.notEqual(a, b);
    assert.equal(offers(new LeaseBook(store.leases, now, 'ks-a'), 1)[0], a);
    assert.notEqual(a, '198.18.90.10', 'a seeded scan that starts at poolStart would be no spread at all');
  });

  it('a seeded scan wraps: every address of the 200-address pool once, then none', () => {
    const got = offers(new LeaseBook(store.leases, now, 'ks-a'), 201);
    assert.equal(got[200], undefined, 'the pool is full');
    const handed = got.slice(0, 200);
    assert.equal(new Set(handed).size, 200);
    for (const ip of handed) assert.match(ip!, /^198\.18\.90\.([1-9]\d|1\d\d|20\d)$/);
  });
});
