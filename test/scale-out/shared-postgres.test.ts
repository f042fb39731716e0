/**
 * Several daemons on one PostgreSQL (docs/scale-out.md), in process and without root:
 * - two DHCP servers (the real server and handler, in-memory sockets, each with its own store
 *   and lease book) over one database: a client is never given an address the other daemon
 *   bound, the same MAC through both gets one address, racing clients never share an address;
 *   offers are reserved in the database (dhcp.reserveOffers, docs/scale-out.md "Offers"): the
 *   daemons never offer one address to two clients, and a client switching daemons between
 *   OFFER and REQUEST is answered as RFC 2131 §4.3.2 says. KS_TEST_OFFERS=memory runs them
 *   with offers in memory only (reserveOffers: false), to see those assertions fail;
 * - two daemons from buildDaemon() on one database: every subsystem starts on PostgreSQL, and
 *   a kickstart's first fetch is claimed once across them; A's live event feed shows B's events.
 * The wire-level race (perfdhcp, namespaces, root) is test/scale-out/perfdhcp-postgres.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { MessageType as T, Opt } from '../../src/dhcp/constants';
import { getU8 } from '../../src/dhcp/options';
import { hardwareAddress } from '../../src/dhcp/packet';
import { formatEvent } from '../../src/cli/commands/event-format';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { createLogger } from '../../src/log';
import { createPostgresStore, openPostgresStore } from '../../src/store/postgres';
import type { Store } from '../../src/store/store';
import { NETWORK, startHarness, request, ip4, type Harness, type Sent } from '../dhcp/helpers/harness';
import { skipUnless } from '../helpers/env';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';
import { curl, installConfig } from '../install/harness';

const why = postgresSkipReason();
const A_ID = '198.18.0.1';
const B_ID = '198.18.0.2';
const DHCP = {
  unknownHosts: 'discover' as const,
  warmUp: false,
  ...(process.env.KS_TEST_OFFERS === 'memory' ? { reserveOffers: false } : {}),
};

/** Delivers `mac`'s request and waits (bounded) for the server's reply to that client, if any. */
async function ask(h: Harness, mac: string, req: Buffer): Promise<Sent | undefined> {
  const from = h.sock67.sent.length;
  const mine = (): Sent | undefined => h.sock67.sent.slice(from).find((x) => hardwareAddress(x.packet) === mac);
  h.sock67.deliver(req);
  for (let i = 0; i < 300 && mine() === undefined; i += 1) await new Promise((r) => setTimeout(r, 10));
  return mine();
}

/** DISCOVER then REQUEST through `h` (server id `sid`): the reply type and address. */
async function dora(h: Harness, sid: string, mac: string): Promise<{ type: number | undefined; ip: string }> {
  const offer = await ask(h, mac, request({ type: T.DISCOVER, mac }));
  if (!offer) return { type: undefined, ip: '' };
  const reply = await ask(
    h,
    mac,
    request({
      type: T.REQUEST,
      mac,
      options: [
        [Opt.SERVER_ID, ip4(sid)],
        [Opt.REQUESTED_IP, ip4(offer.packet.yiaddr)],
      ],
    }),
  );
  return { type: reply && getU8(reply.packet.options, Opt.MESSAGE_TYPE), ip: offer.packet.yiaddr };
}

describe('several daemons on one PostgreSQL', { skip: why }, () => {
  const server = new PrivatePostgres(pgBinDir()!);
  const scratch = mkdtempSync(join(tmpdir(), 'ks-shared-pg-'));
  before(() => server.start());
  after(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function twoServers(db: string): Promise<[Harness, Harness]> {
    const url = await server.createDatabase(db);
    const open = (): Promise<Store> => openPostgresStore({ connectionString: url });
    const a = await startHarness({ store: await open(), network: { ...NETWORK, address: A_ID }, dhcp: DHCP });
    const b = await startHarness({ store: await open(), network: { ...NETWORK, address: B_ID }, dhcp: DHCP });
    return [a, b];
  }

  it("DHCP: never the other daemon's binding; the same MAC through both gets one address", async () => {
    const [a, b] = await twoServers('dhcp_one_mac');
    try {
      assert.deepEqual(await dora(a, A_ID, '52:54:00:00:10:01'), { type: T.ACK, ip: '198.18.0.100' });
      assert.deepEqual(await dora(a, A_ID, '52:54:00:00:10:02'), { type: T.ACK, ip: '198.18.0.101' });
      // B has not seen A's bindings: it picks .100 (bound to :01 in the database). Reserving
      // the offer is refused, B learns what the database holds at .100 and of the client, and
      // offers the client its own binding, .101 (offers in memory only: B offered .100, and
      // the REQUEST's commit was refused and NAKed).
      assert.deepEqual(await dora(b, B_ID, '52:54:00:00:10:02'), { type: T.ACK, ip: '198.18.0.101' });
      assert.deepEqual(await dora(b, B_ID, '52:54:00:00:10:02'), { type: T.ACK, ip: '198.18.0.101' });
      assert.deepEqual(await dora(a, A_ID, '52:54:00:00:10:02'), { type: T.ACK, ip: '198.18.0.101' });
      const leases = await a.store.leases.list();
      assert.deepEqual(
        leases.map((l) => [l.ip, l.mac, l.state]),
        [
          ['198.18.0.100', '52:54:00:00:10:01', 'bound'],
          ['198.18.0.101', '52:54:00:00:10:02', 'bound'],
        ],
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("DHCP (HA): a client bound through A rebinds and reboots through B, which had not seen A's binding", async () => {
    const [a, b] = await twoServers('dhcp_rebind');
    try {
      const mac = '52:54:00:00:11:01';
      assert.deepEqual(await dora(a, A_ID, mac), { type: T.ACK, ip: '198.18.0.100' });
      // A is gone. REBINDING (RFC 2131 §4.4.5): broadcast, ciaddr set, no server id. B's book
      // has no record; it reads the database and extends the client's own binding.
      const rebind = await ask(b, mac, request({ type: T.REQUEST, mac, ciaddr: '198.18.0.100' }));
      assert.equal(rebind && getU8(rebind.packet.options, Opt.MESSAGE_TYPE), T.ACK);
      assert.equal(rebind!.packet.yiaddr, '198.18.0.100');
      // INIT-REBOOT through B for another client of A's: the same.
      const mac2 = '52:54:00:00:11:02';
      assert.deepEqual(await dora(a, A_ID, mac2), { type: T.ACK, ip: '198.18.0.101' });
      const reboot = await ask(
        b,
        mac2,
        request({ type: T.REQUEST, mac: mac2, options: [[Opt.REQUESTED_IP, ip4('198.18.0.101')]] }),
      );
      assert.equal(reboot && getU8(reboot.packet.options, Opt.MESSAGE_TYPE), T.ACK);
      // Someone else's address through INIT-REBOOT: NAK, never an ACK.
      const other = '52:54:00:00:11:03';
      const theft = await ask(
        b,
        other,
        request({ type: T.REQUEST, mac: other, options: [[Opt.REQUESTED_IP, ip4('198.18.0.100')]] }),
      );
      assert.equal(theft && getU8(theft.packet.options, Opt.MESSAGE_TYPE), T.NAK);
      const leases = await a.store.leases.list();
      assert.deepEqual(
        leases.map((l) => [l.ip, l.mac, l.state]),
        [
          ['198.18.0.100', mac, 'bound'],
          ['198.18.0.101', mac2, 'bound'],
        ],
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('DHCP offers reserved: never one address offered to two clients; a client switching daemons (RFC 2131 §4.3.2)', async () => {
    const [a, b] = await twoServers('dhcp_offers');
    const offer = async (h: Harness, mac: string): Promise<string | undefined> =>
      (await ask(h, mac, request({ type: T.DISCOVER, mac })))?.packet.yiaddr;
    const typeOf = (s: Sent | undefined) => s && getU8(s.packet.options, Opt.MESSAGE_TYPE);
    const selecting = (mac: string, sid: string, ip: string) =>
      request({
        type: T.REQUEST,
        mac,
        options: [
          [Opt.SERVER_ID, ip4(sid)],
          [Opt.REQUESTED_IP, ip4(ip)],
        ],
      });
    const initReboot = (mac: string, ip: string) =>
      request({ type: T.REQUEST, mac, options: [[Opt.REQUESTED_IP, ip4(ip)]] });
    const row = async (ip: string) => {
      const l = await a.store.leases.get(ip);
      return l && [l.mac, l.state];
    };
    try {
      const [c1, c2, c3, c4] = ['52:54:00:00:12:01', '52:54:00:00:12:02', '52:54:00:00:12:03', '52:54:00:00:12:04'];
      // Both daemons scan the pool from its start. A offers .100 to c1 and reserves it; B
      // picks .100 for c2 too, the database refuses B's reservation, and B offers .101.
      assert.equal(await offer(a, c1), '198.18.0.100');
      assert.equal(await offer(b, c2), '198.18.0.101', 'B never offers the address A offered');
      assert.deepEqual(await row('198.18.0.100'), [c1, 'offered']);
      assert.deepEqual(await row('198.18.0.101'), [c2, 'offered']);
      // A retransmitted DISCOVER gets the same offer and writes nothing (updatedAt unchanged).
      const before = (await a.store.leases.get('198.18.0.100'))!.updatedAt;
      a.clock.t += 5_000;
      b.clock.t += 5_000;
      assert.equal(await offer(a, c1), '198.18.0.100');
      assert.equal((await a.store.leases.get('198.18.0.100'))!.updatedAt, before, 'no second write');
      // c1's REQUEST names A (server id) and reaches B too (one segment): B stays silent, as
      // for any server not chosen (RFC 2131 §4.3.2), and leaves A's reservation alone.
      assert.equal(await ask(b, c1, selecting(c1, A_ID, '198.18.0.100')), undefined, 'B ignores a REQUEST for A');
      assert.deepEqual(await row('198.18.0.100'), [c1, 'offered']);
      const ack1 = await ask(a, c1, selecting(c1, A_ID, '198.18.0.100'));
      assert.equal(typeOf(ack1), T.ACK, 'A honours its offer');
      assert.deepEqual(await row('198.18.0.100'), [c1, 'bound']);
      // c2 takes B's offer: honoured too (no collision NAK).
      assert.equal(typeOf(await ask(b, c2, selecting(c2, B_ID, '198.18.0.101'))), T.ACK);
      // c3 is offered .102 by A (A picks .101 first, B's offer to c2 refuses it). c3 then
      // switches servers: an INIT-REBOOT (no server id) through B for A's offer. B has no
      // record in memory, reads the database, finds the address reserved for c3, and binds it.
      assert.equal(await offer(a, c3), '198.18.0.102');
      const viaB = await ask(b, c3, initReboot(c3, '198.18.0.102'));
      assert.equal(typeOf(viaB), T.ACK, "B honours A's offer to the same client");
      assert.equal(viaB!.packet.yiaddr, '198.18.0.102');
      assert.deepEqual(await row('198.18.0.102'), [c3, 'bound']);
      // Another client asking for c3's offer gets a NAK, never an ACK.
      assert.equal(await offer(b, c4), '198.18.0.103');
      assert.equal(typeOf(await ask(a, c4, initReboot(c4, '198.18.0.103'))), T.ACK, "c4's own offer through A");
      const c5 = '52:54:00:00:12:05';
      assert.equal(await offer(a, c5), '198.18.0.104');
      assert.equal(typeOf(await ask(b, '52:54:00:00:12:06', initReboot('52:54:00:00:12:06', '198.18.0.104'))), T.NAK);
      // c5 never asks for its offer; once it expires (dhcp.offerTtl) the address is free again.
      a.clock.t += 61_000;
      b.clock.t += 61_000;
      assert.equal(await offer(b, '52:54:00:00:12:07'), '198.18.0.104', 'an expired offer frees its address');
      const leases = (await a.store.leases.list()).map((l) => [l.ip, l.mac, l.state]);
      assert.deepEqual(leases, [
        ['198.18.0.100', c1, 'bound'],
        ['198.18.0.101', c2, 'bound'],
        ['198.18.0.102', c3, 'bound'],
        ['198.18.0.103', c4, 'bound'],
        ['198.18.0.104', '52:54:00:00:12:07', 'offered'],
      ]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('DHCP: 40 clients racing through both daemons for a 10-address pool never share an address', async () => {
    const [a, b] = await twoServers('dhcp_race');
    try {
      const acks: { mac: string; ip: string }[] = [];
      // Rounds: half the clients ask A, half B, at once (then the other way round; NAK → retry).
      // Each daemon's book starts empty and allocates from the pool start: they collide.
      for (let round = 0; round < 4; round += 1) {
        await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const mac = `52:54:00:00:20:${i.toString(16).padStart(2, '0')}`;
            const r = (i + round) % 2 === 0 ? await dora(a, A_ID, mac) : await dora(b, B_ID, mac);
            if (r.type === T.ACK) acks.push({ mac, ip: r.ip });
          }),
        );
      }
      assert.ok(acks.length >= 10, `ACKs: ${acks.length}`);
      const owner = new Map<string, string>();
      for (const { mac, ip } of acks) {
        assert.equal(owner.get(ip) ?? mac, mac, `${ip} ACKed to ${owner.get(ip)} and ${mac}`);
        owner.set(ip, mac);
      }
      const bound = (await a.store.leases.list()).filter((l) => l.state === 'bound');
      for (const [ip, mac] of owner) assert.equal(bound.find((l) => l.ip === ip)?.mac, mac, `${ip} in the database`);
      const macs = bound.map((l) => l.mac);
      assert.equal(new Set(macs).size, macs.length, 'no client holds two bound leases');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("two buildDaemon() daemons: every subsystem on PostgreSQL; the kickstart first fetch claimed once; B's events in A's feed", async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const url = await server.createDatabase('two_daemons');
    const passwordFile = join(scratch, 'db-password');
    // The private server trusts loopback, so the password is not checked; it must be read and never logged.
    writeFileSync(passwordFile, 'not-logged-s3cret\n', { mode: 0o600 });
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        logged += chunk.toString();
        done();
      },
    });
    const daemon = (name: string): Daemon =>
      buildDaemon(
        installConfig({
          stateDir: join(scratch, name),
          store: { kind: 'postgres', url, passwordFile, daemonName: `site-${name}` },
          log: { level: 'debug' },
          tftp: { enabled: false },
          // two daemons in one process: each its own operator listener
          api: { listen: '127.0.0.1:0' },
        }),
        { log: createLogger({ level: 'debug', destination: sink, pretty: false }) },
      );
    const a = daemon('a');
    const b = daemon('b');
    try {
      // inside the try: a daemon that fails to start must not leave the other running (a hang)
      await a.start();
      await b.start();
      assert.equal(a.store.kind, 'postgresql');
      await a.registry.add({ name: 'node1', macs: ['52:54:00:00:30:01'], profile: 'rocky9', ipv4: '127.0.0.1' });
      const token = (await b.store.tokens.liveFor('node1'))?.token;
      assert.ok(token, "A's token is in the shared database");
      const base = (d: Daemon) => `http://127.0.0.1:${d.http.address()!.port}`;
      const got = await Promise.all([a, b, a, b].map((d) => curl(`${base(d)}/ks/${token}`, { from: '127.0.0.1' })));
      assert.deepEqual(
        got.map((r) => r.status),
        [200, 200, 200, 200],
      );
      const fetched = (await a.store.events.list({ host: 'node1' })).filter((e) => e.kind === 'kickstart.fetched');
      assert.equal(fetched.length, 4);
      assert.equal(fetched.filter((e) => e.data.again === false).length, 1, 'one first fetch across both daemons');
      // The timeline names the daemon that served each fetch (store.daemonName).
      assert.deepEqual(fetched.map((e) => e.daemon).sort(), ['site-a', 'site-a', 'site-b', 'site-b']);
      const viaB = fetched.find((e) => e.daemon === 'site-b')!;
      assert.match(formatEvent(viaB, true), /kickstart\.fetched\s+@site-b {2}/, '`kickstand watch` shows it');
      // Both daemons now boot node1 from its disk: the token's first fetch is in the database.
      const ipxe = await curl(`${base(b)}/ipxe/52-54-00-00-30-01`, { from: '127.0.0.1' });
      assert.match(ipxe.body, /sanboot/);
      // The live feed of A (`kickstand watch`) shows what happens through B (LISTEN/NOTIFY).
      const token_ = readFileSync(join(scratch, 'a', 'api-token'), 'utf8').trim();
      let stream = '';
      const apiBase = `http://127.0.0.1:${a.api.address()!.port}`;
      const req = httpGet(`${apiBase}/api/v1/watch?limit=0`, { headers: { authorization: `Bearer ${token_}` } });
      const seen = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not in A's feed within 10 s:\n${stream}`)), 10_000);
        req.on('response', (res) => {
          res.on('data', (d: Buffer) => {
            stream += d.toString();
            if (stream.includes('through daemon B') && stream.includes('"daemon":"site-b"')) {
              clearTimeout(timer);
              resolve();
            }
          });
          // The stream is open: now B appends.
          void b.store.events.append({ host: 'node1', kind: 'host.updated', message: 'through daemon B' });
        });
        req.on('error', reject);
      });
      try {
        await seen;
      } finally {
        req.destroy();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.ok(logged.includes('connected to PostgreSQL'), 'the store service logged its start');
    assert.ok(!logged.includes('not-logged-s3cret'), 'the password is never logged');
  });

  it('refuses to start when PostgreSQL cannot be reached, naming the store', async () => {
    const s = createPostgresStore({
      connectionString: 'postgres://kickstand@127.0.0.1:1/none',
      connectionTimeoutMillis: 2000,
    });
    await assert.rejects(s.open(), /cannot reach PostgreSQL/);
    await s.close();
  });
});
