/**
 * The storage contract: every Store implementation runs this same suite
 * (aedes-persistence `abstract.js`). `open()` must return an empty store.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store';
import type { Lease } from '../../src/model/lease';
import type { Rollout } from '../../src/model/rollout';

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const node = (n: string, mac: string, ipv4: string | null = null) => ({
      name: n,
      macs: [mac],
      profile: 'rocky9',
      role: 'agent',
      ipv4,
      vars: { tz: 'UTC' },
      netboot: true,
      state: 'armed' as const,
    });

    describe('hosts', () => {
      it('creates, reads by name, MAC and IP, and lists in name order', async () => {
        const h = await store.hosts.create(node('node2', '52:54:00:aa:bb:02', '198.18.0.20'));
        await store.hosts.create(node('node1', '52:54:00:aa:bb:01'));
        assert.equal(h.name, 'node2');
        assert.deepEqual(h.macs, ['52:54:00:aa:bb:02']);
        assert.equal(h.state, 'armed');
        assert.equal(h.netboot, true);
        assert.deepEqual(h.vars, { tz: 'UTC' });
        assert.equal(h.version, 1);
        assert.equal((await store.hosts.get('node2'))?.ipv4, '198.18.0.20');
        assert.equal((await store.hosts.getByMac('52:54:00:aa:bb:01'))?.name, 'node1');
        assert.equal((await store.hosts.getByIp('198.18.0.20'))?.name, 'node2');
        assert.equal(await store.hosts.get('nope'), undefined);
        assert.deepEqual(
          (await store.hosts.list()).map((x) => x.name),
          ['node1', 'node2'],
        );
      });

      it('keeps several MACs in order', async () => {
        await store.hosts.create({
          ...node('multi', '52:54:00:00:00:01'),
          macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
        });
        assert.deepEqual((await store.hosts.get('multi'))?.macs, ['52:54:00:00:00:01', '52:54:00:00:00:02']);
        assert.equal((await store.hosts.getByMac('52:54:00:00:00:02'))?.name, 'multi');
        assert.deepEqual((await store.hosts.list())[0]?.macs, ['52:54:00:00:00:01', '52:54:00:00:00:02']);
      });

      it('refuses a duplicate name, MAC or IP with the field named', async () => {
        await store.hosts.create(node('a', '52:54:00:00:00:0a', '198.18.0.10'));
        await assert.rejects(store.hosts.create(node('a', '52:54:00:00:00:0b')), {
          code: 'KS_HOST_EXISTS',
          field: 'name',
        });
        await assert.rejects(store.hosts.create(node('b', '52:54:00:00:00:0a')), {
          code: 'KS_MAC_IN_USE',
          field: 'macs[0]',
        });
        await assert.rejects(store.hosts.create(node('c', '52:54:00:00:00:0c', '198.18.0.10')), {
          code: 'KS_IP_IN_USE',
          field: 'ipv4',
        });
        // A refused write leaves nothing half-written.
        assert.deepEqual(
          (await store.hosts.list()).map((x) => x.name),
          ['a'],
        );
        assert.equal(await store.hosts.getByMac('52:54:00:00:00:0c'), undefined);
      });

      it('createMany writes every host in one transaction: all, or none on any refusal', async () => {
        const ip = (x: string) => x.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        await store.hosts.create(node('old', '52:54:00:00:01:00', '198.18.0.60'));
        const made = await store.hosts.createMany([
          node('b1', '52:54:00:00:01:01', '198.18.0.61'),
          {
            ...node('b2', '52:54:00:00:01:02'),
            macs: ['52:54:00:00:01:02', '52:54:00:00:01:03'],
            netboot: false,
            state: 'registered',
          },
        ]);
        assert.deepEqual(
          made.map((h) => [h.name, h.version, h.state]),
          [
            ['b1', 1, 'armed'],
            ['b2', 1, 'registered'],
          ],
        );
        assert.deepEqual((await store.hosts.get('b2'))?.macs, ['52:54:00:00:01:02', '52:54:00:00:01:03']);
        assert.equal(
          store.hostLookup.byMac('52:54:00:00:01:03')?.name,
          'b2',
          'the lookup index knows every created host',
        );
        assert.equal(store.hostLookup.byIp(ip('198.18.0.61'))?.name, 'b1');
        // A duplicate MAC inside the batch: the hosts before it are rolled back too.
        await assert.rejects(
          store.hosts.createMany([
            node('c1', '52:54:00:00:01:11'),
            node('c2', '52:54:00:00:01:12'),
            node('c3', '52:54:00:00:01:11'),
          ]),
          { code: 'KS_MAC_IN_USE', field: 'macs[0]' },
        );
        // Against stored hosts: a taken MAC, address or name anywhere in the batch refuses it all.
        await assert.rejects(
          store.hosts.createMany([node('d1', '52:54:00:00:01:21'), node('d2', '52:54:00:00:01:00')]),
          { code: 'KS_MAC_IN_USE' },
        );
        await assert.rejects(
          store.hosts.createMany([node('e1', '52:54:00:00:01:31'), node('e2', '52:54:00:00:01:32', '198.18.0.60')]),
          { code: 'KS_IP_IN_USE', field: 'ipv4' },
        );
        await assert.rejects(
          store.hosts.createMany([node('f1', '52:54:00:00:01:41'), node('b1', '52:54:00:00:01:42')]),
          { code: 'KS_HOST_EXISTS', field: 'name' },
        );
        assert.deepEqual(
          (await store.hosts.list()).map((x) => x.name),
          ['b1', 'b2', 'old'],
        );
        for (const mac of [
          '52:54:00:00:01:11',
          '52:54:00:00:01:12',
          '52:54:00:00:01:21',
          '52:54:00:00:01:31',
          '52:54:00:00:01:41',
        ]) {
          assert.equal(await store.hosts.getByMac(mac), undefined, `${mac} was rolled back`);
          assert.equal(store.hostLookup.byMac(mac), undefined, `${mac} is not in the lookup index`);
        }
        assert.deepEqual(await store.hosts.createMany([]), []);
      });

      it('updates fields, bumps the version and honours expectedVersion', async () => {
        await store.hosts.create(node('u', '52:54:00:00:00:11'));
        const u = await store.hosts.update('u', {
          state: 'installed',
          stateReason: 'callback',
          netboot: false,
          sshHostKeys: ['ssh-ed25519 AAAA'],
        });
        assert.equal(u.state, 'installed');
        assert.equal(u.stateReason, 'callback');
        assert.equal(u.netboot, false);
        assert.deepEqual(u.sshHostKeys, ['ssh-ed25519 AAAA']);
        assert.equal(u.version, 2);
        await assert.rejects(store.hosts.update('u', { role: 'server' }, 1), { code: 'KS_CONFLICT' });
        assert.equal((await store.hosts.update('u', { role: 'server' }, 2)).role, 'server');
        await assert.rejects(store.hosts.update('ghost', { role: 'x' }), { code: 'KS_HOST_NOT_FOUND' });
      });

      it('replaces MACs on update and checks them against other hosts', async () => {
        await store.hosts.create(node('x', '52:54:00:00:00:21'));
        await store.hosts.create(node('y', '52:54:00:00:00:22'));
        await assert.rejects(store.hosts.update('x', { macs: ['52:54:00:00:00:22'] }), { code: 'KS_MAC_IN_USE' });
        assert.deepEqual((await store.hosts.get('x'))?.macs, ['52:54:00:00:00:21']);
        await store.hosts.update('x', { macs: ['52:54:00:00:00:23'] });
        assert.equal(await store.hosts.getByMac('52:54:00:00:00:21'), undefined);
        assert.equal((await store.hosts.getByMac('52:54:00:00:00:23'))?.name, 'x');
      });

      it('deletes a host with its MACs and tokens, and refuses an unknown name', async () => {
        await store.hosts.create(node('d', '52:54:00:00:00:31'));
        await store.tokens.issue({ token: 'tok-d-1234567890abcdef', host: 'd', issuedAt: 1, expiresAt: 2 });
        await store.hosts.delete('d');
        assert.equal(await store.hosts.get('d'), undefined);
        assert.equal(await store.hosts.getByMac('52:54:00:00:00:31'), undefined);
        assert.equal(await store.tokens.get('tok-d-1234567890abcdef'), undefined);
        await assert.rejects(store.hosts.delete('d'), { code: 'KS_HOST_NOT_FOUND' });
        // The MAC is free again.
        await store.hosts.create(node('d2', '52:54:00:00:00:31'));
      });

      it('the synchronous host lookup (DHCP hot path) agrees with the rows after every acknowledged write', async () => {
        const look = store.hostLookup;
        const ip = (s: string) => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        await store.hosts.create(node('x', '52:54:00:00:00:41', '198.18.0.41'));
        assert.equal(look.byMac('52:54:00:00:00:41')?.name, 'x');
        assert.equal(look.byIp(ip('198.18.0.41'))?.name, 'x');
        await store.hosts.update('x', {
          macs: ['52:54:00:00:00:42', '52:54:00:00:00:43'],
          ipv4: '198.18.0.42',
          state: 'installing',
        });
        assert.equal(look.byMac('52:54:00:00:00:41'), undefined, 'old MAC dropped');
        assert.equal(look.byMac('52:54:00:00:00:43')?.state, 'installing');
        assert.equal(look.byIp(ip('198.18.0.41')), undefined, 'old address dropped');
        assert.equal(look.byIp(ip('198.18.0.42'))?.name, 'x');
        // A refused write changes nothing.
        await assert.rejects(store.hosts.create(node('y', '52:54:00:00:00:42', '198.18.0.50')), {
          code: 'KS_MAC_IN_USE',
        });
        assert.equal(look.byMac('52:54:00:00:00:42')?.name, 'x');
        assert.equal(look.byIp(ip('198.18.0.50')), undefined);
        await store.hosts.update('x', { ipv4: null });
        assert.equal(look.byIp(ip('198.18.0.42')), undefined, 'reservation removed');
        await store.hosts.delete('x');
        assert.equal(look.byMac('52:54:00:00:00:42'), undefined);
        assert.equal(look.byMac('52:54:00:00:00:43'), undefined);
      });
    });

    describe('events', () => {
      it('appends with increasing ids and lists per host, oldest first', async () => {
        const a = await store.events.append({
          host: 'n1',
          kind: 'dhcp.offer',
          message: 'offered 198.18.0.100',
          data: { ip: '198.18.0.100' },
        });
        const b = await store.events.append({ host: 'n2', kind: 'dhcp.offer', message: 'x' });
        const c = await store.events.append({
          host: 'n1',
          mac: '52:54:00:00:00:01',
          kind: 'dhcp.ack',
          level: 'info',
          message: 'acked',
        });
        assert.ok(a.id < b.id && b.id < c.id);
        const n1 = await store.events.list({ host: 'n1' });
        assert.deepEqual(
          n1.map((e) => e.kind),
          ['dhcp.offer', 'dhcp.ack'],
        );
        assert.deepEqual(n1[0]?.data, { ip: '198.18.0.100' });
        assert.equal(n1[1]?.mac, '52:54:00:00:00:01');
        assert.equal(n1[0]?.level, 'info');
        assert.match(n1[0].ts, /^\d{4}-\d\d-\d\dT/);
      });

      it('follows with `after` and keeps the newest `limit`', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 5; i++)
          ids.push((await store.events.append({ host: null, kind: 'host.discovered', message: `m${i}` })).id);
        assert.deepEqual(
          (await store.events.list({ after: ids[2] })).map((e) => e.message),
          ['m3', 'm4'],
        );
        assert.deepEqual(
          (await store.events.list({ limit: 2 })).map((e) => e.message),
          ['m3', 'm4'],
        );
      });

      it('commits many concurrent appends, all of them', async () => {
        const all = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store.events.append({ host: 'c', kind: 'dhcp.ack', message: String(i) }),
          ),
        );
        assert.equal(new Set(all.map((e) => e.id)).size, 200);
        assert.equal((await store.events.list({ host: 'c', limit: 1000 })).length, 200);
      });
    });

    describe('leases', () => {
      const lease = (ip: string, mac: string, over: Partial<Lease> = {}): Lease => ({
        ip,
        mac,
        clientId: null,
        hostname: null,
        state: 'bound',
        expiresAt: 2_000,
        updatedAt: 1_000,
        ...over,
      });

      it('puts, replaces and finds by IP, MAC and client id', async () => {
        await store.leases.put(
          lease('198.18.0.100', '52:54:00:00:00:01', { clientId: '01525400000001', updatedAt: 1 }),
        );
        // The first binding expired (expiresAt 2 000 < now 2 500): the client may move, and
        // another client may take the address.
        await store.leases.put(lease('198.18.0.101', '52:54:00:00:00:01', { updatedAt: 2_500, expiresAt: 9_000 }));
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { state: 'offered', updatedAt: 2_500 }));
        assert.equal((await store.leases.get('198.18.0.100'))?.mac, '52:54:00:00:00:02');
        assert.equal((await store.leases.get('198.18.0.100'))?.state, 'offered');
        assert.equal((await store.leases.findByMac('52:54:00:00:00:01'))?.ip, '198.18.0.101');
        assert.equal(
          await store.leases.findByClientId('01525400000001'),
          undefined,
          'replaced lease keeps no stale client id',
        );
        assert.equal((await store.leases.list()).length, 2);
        await store.leases.delete('198.18.0.101');
        assert.equal(await store.leases.get('198.18.0.101'), undefined);
      });

      it("refuses another client's live binding and a second live binding of one client (KS_LEASE_TAKEN)", async () => {
        const taken = (e: unknown) => (e as { code?: string }).code === 'KS_LEASE_TAKEN';
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:01'));
        await assert.rejects(store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02')), taken, 'address taken');
        assert.equal((await store.leases.get('198.18.0.100'))?.mac, '52:54:00:00:00:01', 'nothing written');
        await assert.rejects(store.leases.put(lease('198.18.0.101', '52:54:00:00:00:01')), taken, 'client holds .100');
        assert.equal(await store.leases.get('198.18.0.101'), undefined);
        // The same client, by option 61 `01`+MAC (RFC 2132 §9.14), is the same key.
        await assert.rejects(
          store.leases.put(lease('198.18.0.101', '52:54:00:00:00:01', { clientId: '01525400000001' })),
          taken,
        );
        // Its own address: renew, release, then another client after the release.
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:01', { expiresAt: 3_000, updatedAt: 1_500 }));
        await store.leases.put(
          lease('198.18.0.100', '52:54:00:00:00:01', { state: 'released', expiresAt: 1_600, updatedAt: 1_600 }),
        );
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { updatedAt: 1_700 }));
        // A decline always lands (it binds nobody); the quarantine then refuses everyone until it ends.
        await store.leases.put(lease('198.18.0.100', '', { state: 'declined', expiresAt: 5_000, updatedAt: 1_800 }));
        await assert.rejects(
          store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { updatedAt: 1_900, expiresAt: 9_000 })),
          taken,
        );
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { updatedAt: 5_000, expiresAt: 9_000 }));
      });

      it('an offered row holds the address for its client until it expires (docs/scale-out.md "Offers")', async () => {
        const taken = (e: unknown) => (e as { code?: string }).code === 'KS_LEASE_TAKEN';
        const offered = { state: 'offered' as const, expiresAt: 1_500 };
        await store.leases.put(lease('198.18.0.100', '52:54:00:00:00:01', offered));
        // Another client's offer and binding are refused while it lasts; nothing is written.
        await assert.rejects(
          store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { ...offered, updatedAt: 1_100 })),
          taken,
          "another daemon's offer",
        );
        await assert.rejects(
          store.leases.put(lease('198.18.0.100', '52:54:00:00:00:02', { updatedAt: 1_100 })),
          taken,
          "another daemon's binding",
        );
        assert.deepEqual(
          [(await store.leases.get('198.18.0.100'))?.mac, (await store.leases.get('198.18.0.100'))?.state],
          ['52:54:00:00:00:01', 'offered'],
        );
        // An offer is not a binding: two daemons may offer one client two addresses.
        await store.leases.put(lease('198.18.0.101', '52:54:00:00:00:01', { ...offered, updatedAt: 1_100 }));
        // The client binds its offer (also by option 61 `01`+MAC, the same key).
        await store.leases.put(
          lease('198.18.0.100', '52:54:00:00:00:01', {
            clientId: '01525400000001',
            updatedAt: 1_200,
            expiresAt: 5_000,
          }),
        );
        assert.equal((await store.leases.get('198.18.0.100'))?.state, 'bound');
        // The client's binding is what it holds, even beside its newer offer (.101, above).
        await store.leases.put(lease('198.18.0.103', '52:54:00:00:00:01', { ...offered, updatedAt: 1_250 }));
        assert.equal((await store.leases.findByMac('52:54:00:00:00:01'))?.ip, '198.18.0.100');
        assert.equal((await store.leases.findByClientId('01525400000001'))?.ip, '198.18.0.100');
        // An offer never replaces a live binding, not even the same client's (it would cut it short).
        await assert.rejects(
          store.leases.put(lease('198.18.0.100', '52:54:00:00:00:01', { ...offered, updatedAt: 1_300 })),
          taken,
          'an offer over its own live binding',
        );
        assert.equal((await store.leases.get('198.18.0.100'))?.expiresAt, 5_000, 'the binding is whole');
        // Expired (1 500), the offer of .101 frees it: another client is offered and bound there.
        await store.leases.put(
          lease('198.18.0.101', '52:54:00:00:00:02', { ...offered, expiresAt: 1_700, updatedAt: 1_500 }),
        );
        await store.leases.put(lease('198.18.0.101', '52:54:00:00:00:02', { updatedAt: 1_600, expiresAt: 9_000 }));
        assert.equal((await store.leases.get('198.18.0.101'))?.state, 'bound');
        // A quarantined address refuses offers too.
        await store.leases.put(lease('198.18.0.102', '', { state: 'declined', expiresAt: 5_000, updatedAt: 1_000 }));
        await assert.rejects(
          store.leases.put(lease('198.18.0.102', '52:54:00:00:00:03', { ...offered, updatedAt: 1_100 })),
          taken,
        );
      });

      it('reserves an address for one client when offers race for it', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            store.leases.put(lease('198.18.0.140', `52:54:00:00:03:0${i}`, { state: 'offered' })),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one offer wins');
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        assert.equal((await store.leases.get('198.18.0.140'))?.mac, `52:54:00:00:03:0${winner}`);
        // and a binding of another client over it is refused
        await assert.rejects(store.leases.put(lease('198.18.0.140', `52:54:00:00:03:0${(winner + 1) % 8}`)));
      });

      it('binds an address to one client when clients race for it', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.leases.put(lease('198.18.0.120', `52:54:00:00:01:0${i}`))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one put wins');
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        assert.equal((await store.leases.get('198.18.0.120'))?.mac, `52:54:00:00:01:0${winner}`);
      });

      it('binds a client to one address when its puts race', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.leases.put(lease(`198.18.0.${130 + i}`, '52:54:00:00:02:01'))),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one put wins');
        assert.equal((await store.leases.list()).filter((l) => l.mac === '52:54:00:00:02:01').length, 1);
      });

      it('resolves every concurrent put only once it is readable', async () => {
        const puts = Array.from({ length: 300 }, (_, i) => {
          const ip = `198.18.${1 + (i >> 8)}.${i & 255}`;
          return store.leases
            .put(
              lease(
                ip,
                `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
              ),
            )
            .then(() => store.leases.get(ip));
        });
        const got = await Promise.all(puts);
        assert.ok(got.every((l) => l !== undefined));
        assert.equal((await store.leases.list()).length, 300);
      });
    });

    describe('install tokens', () => {
      beforeEach(async () => {
        await store.hosts.create(node('t', '52:54:00:00:00:41'));
      });

      it('issues one live token per host, revoking the previous one', async () => {
        await store.tokens.issue({ token: 'first-token-0123456789', host: 't', issuedAt: 10, expiresAt: 100 });
        await store.tokens.issue({ token: 'second-token-012345678', host: 't', issuedAt: 20, expiresAt: 200 });
        assert.equal((await store.tokens.get('first-token-0123456789'))?.revokedAt, 20);
        assert.equal((await store.tokens.liveFor('t'))?.token, 'second-token-012345678');
      });

      it('marks the first fetch only and revokes on demand', async () => {
        await store.tokens.issue({ token: 'fetch-token-0123456789', host: 't', issuedAt: 10, expiresAt: 100 });
        assert.equal((await store.tokens.markFetched('fetch-token-0123456789', 15))?.fetchedAt, 15);
        assert.equal((await store.tokens.markFetched('fetch-token-0123456789', 16))?.fetchedAt, 15);
        await store.tokens.revokeFor('t', 30);
        assert.equal(await store.tokens.liveFor('t'), undefined);
        assert.equal((await store.tokens.get('fetch-token-0123456789'))?.revokedAt, 30);
        assert.equal(await store.tokens.get('unknown'), undefined);
      });

      it('claims the first fetch for exactly one of concurrent callers', async () => {
        await store.tokens.issue({ token: 'claim-token-0123456789', host: 't', issuedAt: 10, expiresAt: 100 });
        const won = await Promise.all(
          Array.from({ length: 6 }, (_, i) => store.tokens.claimFetch('claim-token-0123456789', 20 + i)),
        );
        assert.equal(won.filter(Boolean).length, 1);
        assert.equal((await store.tokens.get('claim-token-0123456789'))?.fetchedAt, 20 + won.indexOf(true));
        assert.equal(await store.tokens.claimFetch('unknown', 30), false);
      });

      it('claims a fetch and appends its event in one write: first for exactly one caller', async () => {
        await store.tokens.issue({ token: 'event-token-0123456789', host: 't', issuedAt: 10, expiresAt: 100 });
        const seen: Array<{ first: boolean; fetchedAt: number | null }> = [];
        const out = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            store.tokens.claimFetchWithEvent('event-token-0123456789', 40 + i, (c) => {
              seen.push(c);
              return {
                host: 't',
                kind: 'kickstart.fetched',
                level: c.first ? 'info' : 'warn',
                message: c.first ? `first ${i}` : `again ${i} (first at ${c.fetchedAt})`,
                data: { again: !c.first },
              };
            }),
          ),
        );
        const firsts = out.filter((o) => o.claim.first);
        assert.equal(firsts.length, 1);
        const at = (await store.tokens.get('event-token-0123456789'))?.fetchedAt;
        assert.equal(at, 40 + out.indexOf(firsts[0]!));
        // Every caller learns the first fetch's time, inside its own transaction.
        assert.ok(out.every((o) => o.claim.fetchedAt === at));
        assert.equal(seen.length, 6);
        // The events are stored as returned, one per call, the first one `info`.
        const stored = (await store.events.list({ host: 't' })).filter((e) => e.kind === 'kickstart.fetched');
        assert.equal(stored.length, 6);
        for (const o of out)
          assert.deepEqual(
            stored.find((e) => e.id === o.event.id),
            o.event,
          );
        assert.equal(stored.filter((e) => e.level === 'info').length, 1);
        assert.ok(out.filter((o) => !o.claim.first).every((o) => o.event.message.endsWith(`(first at ${at})`)));
        // An unknown token claims nothing; the event is still the caller's to write.
        const none = await store.tokens.claimFetchWithEvent('unknown', 50, (c) => ({
          kind: 'kickstart.fetched',
          message: `unknown ${c.first} ${c.fetchedAt}`,
        }));
        assert.deepEqual(none.claim, { first: false, fetchedAt: null });
        assert.equal(none.event.message, 'unknown false null');
      });

      it('writes neither the claim nor the event when the event cannot be built', async () => {
        await store.tokens.issue({ token: 'broken-token-012345678', host: 't', issuedAt: 10, expiresAt: 100 });
        const before = (await store.events.list()).length;
        await assert.rejects(
          store.tokens.claimFetchWithEvent('broken-token-012345678', 60, () => {
            throw new Error('no event');
          }),
        );
        assert.equal((await store.tokens.get('broken-token-012345678'))?.fetchedAt, null);
        assert.equal((await store.events.list()).length, before);
      });
    });

    describe('settings', () => {
      it('sets, overwrites and deletes', async () => {
        assert.equal(await store.settings.get('k'), undefined);
        await store.settings.set('k', 'v1');
        await store.settings.set('k', 'v2');
        assert.equal(await store.settings.get('k'), 'v2');
        await store.settings.delete('k');
        assert.equal(await store.settings.get('k'), undefined);
      });
    });

    describe('mesh', () => {
      it('allocates the lowest free address once per host, keeps it, and frees it on delete', async () => {
        const a = await store.mesh.allocate('a', '198.19.0.0/29');
        const b = await store.mesh.allocate('b', '198.19.0.0/29');
        assert.equal(a.address, '198.19.0.1');
        assert.equal(b.address, '198.19.0.2');
        assert.equal(a.publicKey, null);
        assert.equal((await store.mesh.allocate('a', '198.19.0.0/29')).address, '198.19.0.1');
        const pk = 'x'.repeat(42) + 'A=';
        const set = await store.mesh.setPeer('a', { publicKey: pk, endpoint: '198.18.0.20', listenPort: 51820 });
        assert.deepEqual([set.publicKey, set.endpoint, set.listenPort], [pk, '198.18.0.20', 51820]);
        assert.deepEqual(
          (await store.mesh.list()).map((m) => m.host),
          ['a', 'b'],
        );
        await store.mesh.delete('a');
        assert.equal(await store.mesh.get('a'), undefined);
        assert.equal((await store.mesh.allocate('c', '198.19.0.0/29')).address, '198.19.0.1');
      });

      it('allocates distinct addresses under concurrency and refuses when the CIDR is full', async () => {
        const got = await Promise.all(
          ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => store.mesh.allocate(h, '198.19.0.0/29')),
        );
        assert.equal(new Set(got.map((m) => m.address)).size, 6);
        await assert.rejects(store.mesh.allocate('h7', '198.19.0.0/29'), /no free address/);
      });
    });

    describe('bmc', () => {
      it('stores per-host BMC settings, replaces them and drops them with the host', async () => {
        await store.hosts.create(node('b1', '52:54:00:00:00:51'));
        assert.equal(await store.bmc.get('b1'), undefined);
        await store.bmc.set('b1', {
          type: 'ipmi',
          address: '198.18.0.10:623',
          username: 'admin',
          password: 'canary-pw',
        });
        await store.bmc.set('b1', {
          type: 'redfish',
          address: 'https://198.18.0.11',
          username: 'root',
          password: 'pw2',
          insecureTls: true,
        });
        assert.deepEqual(await store.bmc.get('b1'), {
          type: 'redfish',
          address: 'https://198.18.0.11',
          username: 'root',
          password: 'pw2',
          insecureTls: true,
        });
        await assert.rejects(store.bmc.set('ghost', { type: 'ipmi', address: 'x', username: 'u', password: 'p' }), {
          code: 'KS_HOST_NOT_FOUND',
        });
        await store.hosts.delete('b1');
        await store.hosts.create(node('b1', '52:54:00:00:00:51'));
        assert.equal(await store.bmc.get('b1'), undefined, 'a re-created host does not inherit old credentials');
        await store.bmc.set('b1', { type: 'ipmi', address: 'x', username: 'u', password: 'p' });
        await store.bmc.delete('b1');
        assert.equal(await store.bmc.get('b1'), undefined);
      });
    });

    describe('k3s server waits', () => {
      it('records waiting hosts once, oldest first, takes them all at once and drops them with the host', async () => {
        await store.hosts.create(node('w1', '52:54:00:00:00:61'));
        await store.hosts.create(node('w2', '52:54:00:00:00:62'));
        await store.hosts.create(node('w3', '52:54:00:00:00:63'));
        await store.serverWaits.add('w2');
        await new Promise((r) => setTimeout(r, 5)); // distinct `since`
        await store.serverWaits.add('w1');
        await store.serverWaits.add('w2'); // idempotent: w2 keeps its place
        assert.deepEqual(await store.serverWaits.list(), ['w2', 'w1']);
        await assert.rejects(store.serverWaits.add('ghost'), { code: 'KS_HOST_NOT_FOUND' });
        await store.serverWaits.delete('w1');
        await store.serverWaits.delete('w1');
        await store.serverWaits.add('w3');
        assert.deepEqual(await store.serverWaits.take(), ['w2', 'w3']);
        assert.deepEqual(await store.serverWaits.list(), []);
        assert.deepEqual(await store.serverWaits.take(), []);
        await store.serverWaits.add('w1');
        await store.hosts.delete('w1');
        assert.deepEqual(await store.serverWaits.list(), [], 'the wait goes with the host');
        await store.hosts.create(node('w1', '52:54:00:00:00:61'));
        assert.deepEqual(await store.serverWaits.list(), [], 'a re-created host does not inherit the wait');
      });

      it('hands each waiting host to exactly one of concurrent takes', async () => {
        const names = ['c1', 'c2', 'c3', 'c4'];
        for (const [i, n] of names.entries()) await store.hosts.create(node(n, `52:54:00:00:00:7${i}`));
        await Promise.all(names.map((n) => store.serverWaits.add(n)));
        const got = (
          await Promise.all([store.serverWaits.take(), store.serverWaits.take(), store.serverWaits.take()])
        ).flat();
        assert.deepEqual([...got].sort(), names);
      });
    });

    describe('work claims', () => {
      it('one holder at a time; renewable by its holder; free again when released or expired', async () => {
        const later = Date.now() + 60_000;
        assert.equal(await store.claims.take('bootstrap:n1', 'a', later), true);
        assert.equal(await store.claims.take('bootstrap:n1', 'b', later), false, 'held by a');
        assert.equal(await store.claims.take('bootstrap:n1', 'a', later + 1), true, 'a renews (or restarted)');
        assert.equal(await store.claims.take('bootstrap:n2', 'b', later), true, 'another key');
        await store.claims.release('bootstrap:n1', 'b'); // not b's: no effect
        assert.equal(await store.claims.take('bootstrap:n1', 'b', later), false);
        await store.claims.release('bootstrap:n1', 'a');
        assert.equal(await store.claims.take('bootstrap:n1', 'b', Date.now() - 1), true, 'released: b takes it');
        assert.equal(await store.claims.take('bootstrap:n1', 'a', later), true, "b's claim expired: a takes it");
      });

      it('exactly one of concurrent takes of one key wins', async () => {
        const later = Date.now() + 60_000;
        const won = await Promise.all(['a', 'b', 'c', 'd'].map((h) => store.claims.take('bootstrap:race', h, later)));
        assert.equal(won.filter(Boolean).length, 1);
      });
    });

    describe('rollouts', () => {
      const rollout = (id: string, startedAt: string, extra: Partial<Rollout> = {}): Rollout => ({
        id,
        role: 'agent',
        request: { maxUnavailable: 2, powerCycle: true, timeoutMs: 3_600_000 },
        state: 'running',
        batches: [['n1', 'n2'], ['n3']],
        batch: 0,
        done: [],
        reimaged: [],
        failedHost: null,
        reason: null,
        step: 0,
        startedAt,
        batchStartedAt: startedAt,
        finishedAt: null,
        updatedAt: startedAt,
        daemon: 'a',
        ...extra,
      });

      it('keeps every field, lists newest first, and refuses a second row with one id', async () => {
        const r1 = rollout('r1', '2026-12-07T10:00:00.000Z');
        const r2 = rollout('r2', '2026-12-07T11:00:00.000Z', {
          request: { maxUnavailable: 1, powerCycle: false, timeoutMs: 60_000 },
          state: 'failed',
          batch: 1,
          done: ['n1', 'n2'],
          reimaged: ['n3'],
          failedHost: 'n3',
          reason: 'host n3 failed: disk not found',
          step: 4,
          finishedAt: '2026-12-07T11:30:00.000Z',
          daemon: 'site-b',
        });
        await store.rollouts.create(r1);
        await store.rollouts.create(r2);
        assert.deepEqual(await store.rollouts.get('r1'), r1);
        assert.deepEqual(await store.rollouts.get('r2'), r2);
        assert.equal(await store.rollouts.get('nope'), undefined);
        assert.deepEqual(
          (await store.rollouts.list()).map((r) => r.id),
          ['r2', 'r1'],
        );
        assert.deepEqual(
          (await store.rollouts.list({ running: true })).map((r) => r.id),
          ['r1'],
        );
        await assert.rejects(store.rollouts.create(r1), { code: 'KS_CONFLICT' });
      });

      it('writes progress only for the daemon driving it; adopting a running one moves the fence', async () => {
        const r = rollout('r3', '2026-12-07T12:00:00.000Z');
        await store.rollouts.create(r);
        const next = {
          ...r,
          batch: 1,
          done: ['n1', 'n2'],
          reimaged: ['n3'],
          step: 2,
          updatedAt: '2026-12-07T12:05:00.000Z',
        };
        assert.equal(await store.rollouts.save(next), true);
        assert.deepEqual(await store.rollouts.get('r3'), next);
        const adopted = await store.rollouts.adopt('r3', 'b', '2026-12-07T12:10:00.000Z');
        assert.deepEqual(adopted, { ...next, daemon: 'b', updatedAt: '2026-12-07T12:10:00.000Z' });
        // The former driver (a) lost it: its write changes nothing.
        assert.equal(await store.rollouts.save({ ...next, step: 3, state: 'done' }), false);
        assert.equal((await store.rollouts.get('r3'))?.state, 'running');
        const finished = {
          ...adopted,
          state: 'done' as const,
          step: 3,
          finishedAt: '2026-12-07T12:20:00.000Z',
        };
        assert.equal(await store.rollouts.save(finished), true);
        assert.deepEqual(await store.rollouts.get('r3'), finished);
        assert.equal(await store.rollouts.adopt('r3', 'a', '2026-12-07T12:30:00.000Z'), undefined, 'finished');
        assert.equal(await store.rollouts.adopt('ghost', 'a', '2026-12-07T12:30:00.000Z'), undefined);
        assert.equal(await store.rollouts.save(rollout('ghost', '2026-12-07T12:00:00.000Z')), false);
      });

      it('prunes finished rollouts beyond the newest N, never a running one', async () => {
        for (let i = 0; i < 5; i += 1) {
          const at = `2026-12-07T0${i}:00:00.000Z`;
          await store.rollouts.create(
            rollout(`f${i}`, at, { state: i % 2 ? 'failed' : 'done', finishedAt: `2026-12-07T0${i}:30:00.000Z` }),
          );
        }
        await store.rollouts.create(rollout('run', '2026-12-07T00:00:00.000Z'));
        assert.equal(await store.rollouts.prune(2), 3);
        assert.deepEqual(
          (await store.rollouts.list()).map((r) => r.id),
          ['f4', 'f3', 'run'],
        );
        assert.equal(await store.rollouts.prune(2), 0);
        assert.equal(await store.rollouts.prune(0), 2);
        assert.deepEqual(
          (await store.rollouts.list()).map((r) => r.id),
          ['run'],
        );
      });
    });

    it('answers ping and closes idempotently', async () => {
      await store.ping();
      await store.close();
      await store.close();
      store = await open(); // afterEach closes this one
    });
  });
}
