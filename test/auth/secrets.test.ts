/**
 * Secrets at rest (docs/api.md, "Secrets at rest"): BMC passwords sealed with AES-256-GCM under
 * a key in its own 0600 file; `kickstand secrets rotate`; and no password in the database
 * file, the API's answers, the timeline or the log (every level, trace included). The real
 * daemon (buildDaemon) in process with a capturing logger; the real CLI for the rotation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { SecretBox } from '../../src/auth/secret-box';
import { SEALED_SETTING } from '../../src/auth/sealed-secrets';
import { loadConfig } from '../../src/config/load';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { createLogger } from '../../src/log';
import { openSqliteStore } from '../../src/store/sqlite';
import { REPO, cliArgv, testConfig } from '../helpers/daemon';

const CANARY = 'Canary-Pw-7f3a9';

describe('SecretBox', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ks-box-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('seals and opens; the key file is 0600; a value does not open on another row', () => {
    const box = new SecretBox(join(dir, 'k1'));
    assert.equal(statSync(join(dir, 'k1')).mode & 0o777, 0o600);
    const sealed = box.seal(CANARY, 'bmc.password:a');
    assert.match(sealed, /^ks-sealed:v1:k\d{8}-[0-9a-f]{6}:[\w-]+$/);
    assert.ok(!sealed.includes(CANARY));
    assert.notEqual(box.seal(CANARY, 'bmc.password:a'), sealed, 'a fresh IV each time');
    assert.equal(box.open(sealed, 'bmc.password:a'), CANARY);
    assert.throws(() => box.open(sealed, 'bmc.password:b'), /KS_SECRET_UNREADABLE|does not open/);
    assert.equal(box.open('plain-legacy', 'bmc.password:a'), 'plain-legacy', 'values stored before sealing');
    assert.equal(new SecretBox(join(dir, 'k1')).open(sealed, 'bmc.password:a'), CANARY, 'the key persists');
  });

  it('rotation: old values open until the old key is dropped, then name the missing key', () => {
    const box = new SecretBox(join(dir, 'k2'));
    const old = box.seal(CANARY, 'c');
    const oldId = box.currentKeyId;
    const newId = box.addKey();
    assert.notEqual(newId, oldId);
    assert.equal(box.open(old, 'c'), CANARY);
    assert.ok(!box.isCurrent(old));
    assert.deepEqual(box.dropOldKeys(), [oldId]);
    assert.throws(
      () => box.open(old, 'c'),
      (e: Error & { code?: string }) => e.code === 'KS_SECRET_UNREADABLE' && e.message.includes(oldId),
    );
  });
});

describe('BMC passwords at rest, rotation and redaction', () => {
  let dir: string;
  let daemon: Daemon;
  let base: string;
  let token: string;
  let logged = '';

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ks-secrets-'));
    const file = join(dir, 'kickstand.yaml');
    writeFileSync(file, stringify(testConfig(dir, { log: { level: 'trace' } })));
    const config = loadConfig({ file, env: {} });
    // A password stored in clear by an older Kickstand: sealed at start.
    mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
    const legacy = openSqliteStore(join(config.stateDir, 'kickstand.db'));
    await legacy.hosts.create({
      name: 'old1',
      macs: ['52:54:00:00:0f:01'],
      profile: 'rocky9',
      role: 'agent',
      ipv4: null,
      vars: {},
      netboot: false,
      state: 'registered',
    });
    await legacy.bmc.set('old1', { type: 'ipmi', address: '198.18.0.250', username: 'admin', password: 'Legacy-Pw-1' });
    await legacy.close();

    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    daemon = buildDaemon(config, { log: createLogger({ level: 'trace', destination: sink, pretty: false }) });
    await daemon.start();
    base = daemon.api.url();
    token = readFileSync(join(config.stateDir, 'api-token'), 'utf8').trim();
  });
  after(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rawBmc = async (host: string) => {
    const s = openSqliteStore(join(dir, 'state', 'kickstand.db'));
    try {
      return await s.bmc.get(host);
    } finally {
      await s.close();
    }
  };

  it('seals a password stored in clear by an older version, once, at start', async () => {
    assert.ok((await daemon.store.settings.get(SEALED_SETTING)) !== undefined);
    assert.match((await rawBmc('old1'))!.password, /^ks-sealed:v1:/);
    assert.equal((await daemon.store.bmc.get('old1'))!.password, 'Legacy-Pw-1');
  });

  it('a password set through the API is sealed in the database and never answered, logged or on the timeline', async () => {
    assert.equal(
      (await api('POST', '/hosts', { name: 'b1', macs: ['52:54:00:00:0f:02'], profile: 'rocky9' })).status,
      201,
    );
    const put = await api('PUT', '/hosts/b1/bmc', {
      type: 'redfish',
      address: 'http://127.0.0.1:1',
      username: 'root',
      password: CANARY,
    });
    assert.equal(put.status, 200, put.text);
    assert.ok(existsSync(join(dir, 'state', 'secrets.key')));
    assert.equal(statSync(join(dir, 'state', 'secrets.key')).mode & 0o777, 0o600);
    // The database file (and its WAL) never held the password: it was sealed before the write.
    for (const f of ['kickstand.db', 'kickstand.db-wal'].map((n) => join(dir, 'state', n)).filter(existsSync))
      assert.ok(!readFileSync(f).includes(CANARY), `${f} holds no password`);
    assert.match((await rawBmc('b1'))!.password, /^ks-sealed:v1:/);
    assert.equal((await daemon.store.bmc.get('b1'))!.password, CANARY, 'the BMC client gets it opened');
    // API answers: the BMC view, the host, its timeline, the whole timeline, the render dry run.
    const answers = await Promise.all([
      api('GET', '/hosts/b1/bmc'),
      api('GET', '/hosts/b1'),
      api('GET', '/hosts/b1/events'),
      api('GET', '/events?limit=1000'),
      api('GET', '/hosts/b1/render?kind=kickstart&showSecrets=1'),
      api('GET', '/inventory?format=json'),
    ]);
    assert.match(answers[0].text, /"passwordSet":true/);
    for (const a of answers) assert.ok(!a.text.includes(CANARY), a.text.slice(0, 200));
    await api('POST', '/hosts/b1/power', { action: 'status' }); // fails (nothing at :1); the error must not carry it
    assert.ok(logged.length > 1000, 'the log was captured (trace level)');
    assert.ok(!logged.includes(CANARY), 'no password in the log');
    assert.ok(!logged.includes('Legacy-Pw-1'));
  });

  it('`kickstand secrets rotate` re-seals every value with a new key and drops the old one', async () => {
    const before = JSON.parse(readFileSync(join(dir, 'state', 'secrets.key'), 'utf8')) as { current: string };
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
      execFile(
        process.execPath,
        [...cliArgv(), '--server', base, '--token', token, 'secrets', 'rotate', '--json'],
        { cwd: REPO, timeout: 30_000, env: { ...process.env, KICKSTAND_URL: undefined, KICKSTAND_CONFIG: undefined } },
        (err, stdout, stderr) => ok({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { keyId: string; resealed: number; dropped: string[] };
    assert.equal(out.resealed, 2);
    assert.deepEqual(out.dropped, [before.current]);
    const after = JSON.parse(readFileSync(join(dir, 'state', 'secrets.key'), 'utf8')) as {
      current: string;
      keys: Record<string, string>;
    };
    assert.deepEqual(Object.keys(after.keys), [out.keyId]);
    for (const h of ['old1', 'b1']) assert.ok((await rawBmc(h))!.password.startsWith(`ks-sealed:v1:${out.keyId}:`));
    assert.equal((await daemon.store.bmc.get('b1'))!.password, CANARY);
    // A read token cannot rotate; the rotation is on the fleet's audit trail.
    const ev = JSON.parse((await api('GET', '/events?limit=5')).text) as {
      events: Array<{ kind: string; data: { path?: string } }>;
    };
    assert.ok(ev.events.some((e) => e.kind === 'api.write' && e.data.path === '/secrets/rotate'));
  });
});
