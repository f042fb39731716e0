/**
 * Lease-state fuzzing (reliability D22): random interleavings of DISCOVER, REQUEST (selecting,
 * init-reboot, renewing), DECLINE, RELEASE and INFORM from 50 clients over a 12-address pool,
 * with the clock moving, through the real handler and SQLite store. After every ACK: the lease
 * is in the store, bound to that client; no other client holds the address; it is not
 * quarantined. INFORM never allocates. Run twice: offers in memory only, and reserved in the
 * store (dhcp.reserveOffers, docs/scale-out.md "Offers"): then every OFFER is backed by the
 * client's own live row (`offered`, or its binding), and no ACK takes another client's offer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dhcpSchema } from '../../src/config/sections/dhcp';
import { networkSchema } from '../../src/config/sections/network';
import { MessageType as T } from '../../src/dhcp/constants';
import { processDatagram } from '../../src/dhcp/handler';
import { decodePacket } from '../../src/dhcp/packet';
import { createHandlerContext } from '../../src/dhcp/server';
import { silentLogger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import { ip4, request } from './helpers/harness';

const STEPS = Number(process.env.KS_LEASE_MODEL_STEPS ?? 4000);

describe('lease state model', () => {
  for (const reserveOffers of [false, true])
    it(`${STEPS} random operations from 50 clients keep the lease invariants (offers ${reserveOffers ? 'reserved in the store' : 'in memory'})`, async () => {
      const store = openSqliteStore(':memory:');
      const network = networkSchema.parse({
        address: '198.18.0.1',
        subnet: '198.18.0.0/24',
        pool: { start: '198.18.0.100', end: '198.18.0.111' },
        leaseTime: 600,
      });
      const dhcp = dhcpSchema.parse({
        unknownHosts: 'discover',
        declineProbation: 900,
        declineLimitPerHour: 3,
        reserveOffers,
      });
      let clock = Date.UTC(2026, 0, 1);
      const ctx = createHandlerContext({
        config: { dhcp, network, http: { publicUrl: 'http://198.18.0.1:8080' } },
        store,
        log: silentLogger(),
        now: () => clock,
      });
      await ctx.book.load();
      const route = {
        broadcast: '198.18.0.255',
        serverPort: 67,
        clientPort: 68,
        from: { address: '0.0.0.0', port: 68 },
        viaPxePort: false,
      };
      let seed = 0x2545f491;
      const rnd = (n: number) => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) % n;
      };
      const macs = Array.from({ length: 50 }, (_, i) => `52:54:00:77:00:${i.toString(16).padStart(2, '0')}`);
      const offered = new Map<string, string>();
      const held = new Map<string, string>();
      let acks = 0;
      try {
        for (let step = 0; step < STEPS; step += 1) {
          clock += rnd(20_000);
          const mac = macs[rnd(macs.length)]!;
          const sid: [number, number[]] = [54, ip4('198.18.0.1')];
          const pool = `198.18.0.${100 + rnd(14)}`; // sometimes outside the pool
          const mine = held.get(mac) ?? offered.get(mac) ?? pool;
          const specs = [
            { type: T.DISCOVER, mac },
            { type: T.REQUEST, mac, options: [sid, [50, ip4(offered.get(mac) ?? pool)]] as [number, number[]][] },
            { type: T.REQUEST, mac, options: [[50, ip4(mine)]] as [number, number[]][] },
            { type: T.REQUEST, mac, ciaddr: mine },
            { type: T.DECLINE, mac, options: [sid, [50, ip4(mine)]] as [number, number[]][] },
            { type: T.RELEASE, mac, ciaddr: mine, options: [sid] as [number, number[]][] },
            { type: T.INFORM, mac, ciaddr: mine },
          ];
          const spec = specs[rnd(specs.length)]!;
          const snapshot = new Map((await store.leases.list()).map((l) => [l.ip, l]));
          const before = snapshot.size;
          const out = await processDatagram(ctx, request(spec), route);
          if (spec.type === T.INFORM) assert.equal((await store.leases.list()).length, before, 'INFORM allocated');
          if (out.kind !== 'send') continue;
          const d = decodePacket(out.bytes);
          assert.ok(d.ok);
          const r = d.packet;
          if (out.reply === 'OFFER') {
            offered.set(mac, r.yiaddr);
            if (reserveOffers) {
              const l = await store.leases.get(r.yiaddr);
              assert.ok(
                l && l.mac === mac && l.expiresAt > clock && (l.state === 'offered' || l.state === 'bound'),
                `step ${step}: OFFER of ${r.yiaddr} to ${mac} not backed by its row: ${JSON.stringify(l)}`,
              );
            }
          }
          if (out.reply === 'ACK' && spec.type !== T.INFORM) {
            acks += 1;
            const l = await store.leases.get(r.yiaddr);
            assert.equal(l?.state, 'bound', `step ${step}: ACKed ${r.yiaddr} is not bound in the store`);
            assert.equal(l?.mac, mac, `step ${step}: ACKed ${r.yiaddr} belongs to ${l?.mac}, not ${mac}`);
            assert.ok(l.expiresAt > clock);
            const prev = snapshot.get(r.yiaddr);
            if (prev && prev.expiresAt > clock) {
              assert.notEqual(prev.state, 'declined', `step ${step}: ACKed quarantined ${r.yiaddr}`);
              if (prev.state === 'bound' || prev.state === 'offered')
                assert.equal(
                  prev.mac,
                  mac,
                  `step ${step}: ${r.yiaddr} double-allocated (${prev.state} to ${prev.mac})`,
                );
            }
            held.set(mac, r.yiaddr);
          }
          if (out.reply === 'NAK') held.delete(mac);
        }
      } finally {
        await store.close();
      }
      assert.ok(acks > 100, `the model reaches ACKs (${acks})`);
    });
});
