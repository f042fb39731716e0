/**
 * Redfish client against a FAKE Redfish service (test/helpers/fake-redfish.ts): no Redfish
 * emulator is packaged here, so the fake follows DSP0266/DSP2046 for what Kickstand sends, over
 * HTTPS with a self-signed certificate like a real BMC, on 127.0.0.1:0. Every test asserts the
 * exact requests the fake recorded. Needs the `openssl` CLI for the certificate.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createBmcClient, type BmcConfig } from '../../src/bmc';
import { ErrorCode, KickstandError } from '../../src/errors';
import { createLogger, silentLogger } from '../../src/log';
import { FakeRedfish, selfSignedCert, type FakeRedfishOptions } from '../helpers/fake-redfish';
import { missing } from '../helpers/env';

const USER = 'ks-operator';
const PASSWORD = 'rf-Canary-Pw-5d1e';
const skip = missing({ binaries: ['openssl'] });
const dir = skip ? '' : mkdtempSync(join(tmpdir(), 'ks-redfish-'));
const tls = skip ? undefined : selfSignedCert(dir);
const fakes: FakeRedfish[] = [];

async function fake(opts: Partial<FakeRedfishOptions> = {}): Promise<{ fake: FakeRedfish; port: number }> {
  const f = new FakeRedfish({ username: USER, password: PASSWORD, ...(tls ? { tls } : {}), ...opts });
  fakes.push(f);
  return { fake: f, port: await f.start() };
}

function cfg(port: number, extra: Partial<BmcConfig> = {}): BmcConfig {
  return {
    type: 'redfish',
    address: `127.0.0.1:${port}`,
    username: USER,
    password: PASSWORD,
    insecureTls: true,
    ...extra,
  };
}

/** method, path, If-Match and body of each recorded request: the wire traffic in order. */
function wire(f: FakeRedfish): Array<[string, string, string | undefined, unknown]> {
  return f.requests.map((r) => [r.method, r.path, r.ifMatch, r.body]);
}

const PXE_ONCE = { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } };

after(async () => {
  for (const f of fakes) await f.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Redfish client against a fake Redfish service (HTTPS, self-signed)', { skip: skip ?? false }, () => {
  test('fake Redfish: bootOncePxe finds the only system, PATCHes Boot with If-Match of its ETag', async () => {
    const { fake: f, port } = await fake();
    await createBmcClient(cfg(port), { log: silentLogger() }).bootOncePxe();
    assert.deepEqual(wire(f), [
      ['GET', '/redfish/v1/Systems', undefined, undefined],
      ['GET', '/redfish/v1/Systems/1', undefined, undefined],
      ['PATCH', '/redfish/v1/Systems/1', '"fake-1"', PXE_ONCE],
    ]);
    assert.ok(f.requests.every((r) => r.authorized && r.odataVersion === '4.0'));
    assert.equal(f.requests[2]!.contentType, 'application/json');
    assert.deepEqual(f.systems.get('1')!.boot, { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' });
  });

  test('fake Redfish: systemId skips the collection; @odata.etag in the body is used when there is no ETag header', async () => {
    const { fake: f, port } = await fake({ systemIds: ['System.Embedded.1'], etag: 'body', requireIfMatch: true });
    await createBmcClient(cfg(port, { systemId: 'System.Embedded.1' }), { log: silentLogger() }).bootOncePxe();
    assert.deepEqual(wire(f), [
      ['GET', '/redfish/v1/Systems/System.Embedded.1', undefined, undefined],
      ['PATCH', '/redfish/v1/Systems/System.Embedded.1', '"fake-1"', PXE_ONCE],
    ]);
  });

  test('fake Redfish: no ETag at all means no If-Match', async () => {
    const { fake: f, port } = await fake({ etag: 'none' });
    await createBmcClient(cfg(port), { log: silentLogger() }).bootOncePxe();
    assert.deepEqual(wire(f).at(-1), ['PATCH', '/redfish/v1/Systems/1', undefined, PXE_ONCE]);
  });

  test('fake Redfish: a 412 (system changed after the GET) re-reads and retries once with the new ETag', async () => {
    const { fake: f, port } = await fake();
    let changes = 1;
    f.afterSystemGet = (s) => {
      if (changes-- > 0) s.version++; // another client changed the system right after our GET
    };
    await createBmcClient(cfg(port, { systemId: '1' }), { log: silentLogger() }).bootOncePxe();
    const statuses = wire(f);
    assert.deepEqual(statuses, [
      ['GET', '/redfish/v1/Systems/1', undefined, undefined],
      ['PATCH', '/redfish/v1/Systems/1', '"fake-1"', PXE_ONCE],
      ['GET', '/redfish/v1/Systems/1', undefined, undefined],
      ['PATCH', '/redfish/v1/Systems/1', '"fake-2"', PXE_ONCE],
    ]);
    assert.equal(f.systems.get('1')!.boot.BootSourceOverrideTarget, 'Pxe');
  });

  test('fake Redfish: efiBoot adds BootSourceOverrideMode UEFI only where the system allows it', async () => {
    const withMode = await fake({ bootModes: ['Legacy', 'UEFI'] });
    await createBmcClient(cfg(withMode.port, { efiBoot: true }), { log: silentLogger() }).bootOncePxe();
    assert.deepEqual(wire(withMode.fake).at(-1)![3], { Boot: { ...PXE_ONCE.Boot, BootSourceOverrideMode: 'UEFI' } });
    const legacyOnly = await fake({ bootModes: ['Legacy'] }); // like Supermicro X10, which refuses UEFI here
    await createBmcClient(cfg(legacyOnly.port, { efiBoot: true }), { log: silentLogger() }).bootOncePxe();
    assert.deepEqual(wire(legacyOnly.fake).at(-1)![3], PXE_ONCE);
  });

  test('fake Redfish: a system without Pxe in the allowable targets fails before any PATCH', async () => {
    const { fake: f, port } = await fake({ bootTargets: ['None', 'Hdd', 'Cd'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger() }).bootOncePxe(),
      (e: unknown) => e instanceof KickstandError && /does not offer a PXE boot override/.test(e.message),
    );
    assert.ok(!f.requests.some((r) => r.method === 'PATCH'));
  });

  test('fake Redfish: power actions map to ResetType from inline AllowableValues (iDRAC/iLO style)', async () => {
    const { fake: f, port } = await fake({ systemIds: ['1'] });
    const c = createBmcClient(cfg(port, { systemId: '1' }), { log: silentLogger() });
    for (const a of ['off', 'on', 'reset', 'soft'] as const) await c.power(a);
    await c.power('on');
    await c.power('cycle'); // host is on: PowerCycle
    assert.deepEqual(f.systems.get('1')!.resets, [
      'ForceOff',
      'On',
      'ForceRestart',
      'GracefulShutdown',
      'On',
      'PowerCycle',
    ]);
    const posts = f.requests.filter((r) => r.method === 'POST');
    assert.ok(
      posts.every(
        (r) => r.path === '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset' && r.contentType === 'application/json',
      ),
    );
    assert.deepEqual(posts[0]!.body, { ResetType: 'ForceOff' });
  });

  test('fake Redfish: AllowableValues from the Reset ActionInfo (bmcweb style); cycle falls back to ForceRestart without PowerCycle (iLO 5 set)', async () => {
    const { fake: f, port } = await fake({
      allowable: 'actioninfo',
      resetTypes: ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'Nmi', 'PushPowerButton'],
    });
    await createBmcClient(cfg(port), { log: silentLogger() }).power('cycle');
    assert.deepEqual(wire(f), [
      ['GET', '/redfish/v1/Systems', undefined, undefined],
      ['GET', '/redfish/v1/Systems/1', undefined, undefined], // status: On, so a real cycle
      ['GET', '/redfish/v1/Systems/1', undefined, undefined],
      ['GET', '/redfish/v1/Systems/1/ResetActionInfo', undefined, undefined],
      ['POST', '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset', undefined, { ResetType: 'ForceRestart' }],
    ]);
  });

  test('fake Redfish: cycle on a system that is off sends On', async () => {
    const { fake: f, port } = await fake({ initialPower: 'Off' });
    const c = createBmcClient(cfg(port), { log: silentLogger() });
    assert.equal(await c.status(), 'off');
    await c.power('cycle');
    assert.deepEqual(f.systems.get('1')!.resets, ['On']);
    assert.equal(await c.status(), 'on');
  });

  test('fake Redfish: no advertised AllowableValues sends the first preference', async () => {
    const { fake: f, port } = await fake({ allowable: 'none' });
    await createBmcClient(cfg(port), { log: silentLogger() }).power('off');
    assert.deepEqual(f.systems.get('1')!.resets, ['ForceOff']);
  });

  test('fake Redfish: no allowed ResetType for the action fails without a POST', async () => {
    const { fake: f, port } = await fake({ resetTypes: ['On', 'ForceOff'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger() }).power('soft'),
      (e: unknown) => e instanceof KickstandError && /allows no ResetType for power soft/.test(e.message),
    );
    assert.ok(!f.requests.some((r) => r.method === 'POST'));
  });

  test('fake Redfish: wrong password is a 401 turned into KS_BMC_FAILED without the password', async () => {
    const { port } = await fake();
    const wrong = 'wrong-Pw-0000';
    await assert.rejects(
      createBmcClient(cfg(port, { password: wrong }), { log: silentLogger() }).status(),
      (e: unknown) => {
        assert.ok(e instanceof KickstandError);
        assert.equal(e.code, ErrorCode.BMC_FAILED);
        assert.match(e.message, /refused the user name or password \(HTTP 401/);
        assert.ok(!JSON.stringify(e.toJSON()).includes(wrong));
        return true;
      },
    );
  });

  test('fake Redfish: several systems and no systemId is an error listing the ids', async () => {
    const { port } = await fake({ systemIds: ['a', 'b'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger() }).status(),
      (e: unknown) => e instanceof KickstandError && /has 2 systems/.test(e.message) && /a, b/.test(e.fix ?? ''),
    );
  });

  test('fake Redfish: a member link to another origin is refused, never requested', async () => {
    const { fake: f, port } = await fake({ memberLinks: ['https://198.18.0.99/redfish/v1/Systems/1'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger() }).status(),
      (e: unknown) => e instanceof KickstandError && /not a path on its Redfish service/.test(e.message),
    );
    assert.equal(f.requests.length, 1);
  });

  test('fake Redfish: TLS is verified by default, so the self-signed BMC is refused with a fix naming insecureTls', async () => {
    const { fake: f, port } = await fake();
    await assert.rejects(
      createBmcClient(cfg(port, { insecureTls: false }), { log: silentLogger() }).status(),
      (e: unknown) => {
        assert.ok(e instanceof KickstandError && e.code === ErrorCode.BMC_FAILED);
        assert.match(e.message, /TLS certificate was not accepted/);
        assert.match(e.fix ?? '', /insecureTls/);
        return true;
      },
    );
    assert.equal(f.requests.length, 0); // no request (and no credentials) reached the server
  });

  test('fake Redfish: a BMC that never answers hits the deadline', async () => {
    const { port } = await fake({ hangPaths: ['/redfish/v1/Systems'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger(), timeoutMs: 500 }).status(),
      (e: unknown) => e instanceof KickstandError && /timed out after 500 ms/.test(e.message),
    );
  });

  test('fake Redfish: a body that stops half way hits the deadline too', async () => {
    const { port } = await fake({ stallBodyPaths: ['/redfish/v1/Systems'] });
    await assert.rejects(
      createBmcClient(cfg(port), { log: silentLogger(), timeoutMs: 500 }).status(),
      (e: unknown) => e instanceof KickstandError && /timed out after 500 ms/.test(e.message),
    );
  });

  test('fake Redfish over plain http:// (emulator address) works and warns', async () => {
    const f = new FakeRedfish({ username: USER, password: PASSWORD });
    fakes.push(f);
    const port = await f.start();
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      pretty: false,
      destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
    });
    assert.equal(
      await createBmcClient(cfg(port, { address: `http://127.0.0.1:${port}`, insecureTls: false }), { log }).status(),
      'on',
    );
    assert.match(lines.join(''), /plain http sends the BMC password in clear text/);
  });
});

describe('BMC credentials stay out of logs (fake Redfish + pino at trace)', { skip: skip ?? false }, () => {
  const lines: string[] = [];
  const log = createLogger({
    level: 'trace',
    pretty: false,
    destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
  });
  let port = 0;
  before(async () => {
    port = (await fake({ allowable: 'actioninfo' })).port;
  });

  test('fake Redfish: a full run and a failed one log neither the password nor the Basic credentials', async () => {
    const c = createBmcClient(cfg(port), { log });
    await c.bootOncePxe();
    await c.power('cycle');
    await c.status();
    await assert.rejects(createBmcClient(cfg(port, { systemId: 'nope' }), { log }).power('on'));
    log.info({ bmc: cfg(port) }, 'bmc config'); // a careless caller: pino redact must hide it
    log.info(cfg(port), 'bmc config flat');
    const text = lines.join('');
    assert.match(text, /"msg":"redfish request"/);
    assert.match(text, /"msg":"bmc power command sent"/);
    assert.match(text, /"msg":"bmc command failed"/);
    const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    assert.ok(!text.includes(PASSWORD), 'password in logs');
    assert.ok(!text.includes(basic), 'Basic credentials in logs');
  });
});
