import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load';
import { envOverrides } from '../../src/config/env';
import { LiveConfig } from '../../src/config/live';
import { REPO } from '../helpers/daemon';

const dir = mkdtempSync(join(tmpdir(), 'ks-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const MINIMAL = `
network:
  address: 198.18.0.1
  subnet: 198.18.0.0/24
  pool: { start: 198.18.0.100, end: 198.18.0.199 }
`;

describe('config', () => {
  it('loads the shipped example and resolves paths against the file', () => {
    const c = loadConfig({ file: join(REPO, 'examples/kickstand.yaml'), env: {} });
    assert.equal(c.network.subnet, '198.18.0.0/24');
    assert.equal(c.imagesDir, join(REPO, 'images'));
    assert.equal(c.kickstartsDir, join(REPO, 'kickstarts'));
    assert.equal(c.http.publicUrl, 'http://198.18.0.1:8080');
    assert.ok(c.profiles.rocky9);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.network.pool));
  });

  it('fills defaults for everything but the network', () => {
    const c = loadConfig({ file: write('min.yaml', MINIMAL), env: {} });
    assert.equal(c.stateDir, '/var/lib/kickstand');
    assert.equal(c.http.listen, '0.0.0.0:8080');
    assert.equal(c.dhcp.mode, 'authoritative');
    assert.equal(c.tftp.maxSessions, 50);
    assert.equal(c.network.leaseTime, 3600);
    assert.deepEqual(c.profiles, {});
    // Resolved once here: network.address and http.listen's port; never null for callers.
    assert.equal(c.http.publicUrl, 'http://198.18.0.1:8080');
    assert.equal(
      loadConfig({
        file: write('pub.yaml', `${MINIMAL}http: { listen: 0.0.0.0:8081, publicUrl: 'http://boot.example:80/' }\n`),
        env: {},
      }).http.publicUrl,
      'http://boot.example:80',
    );
    assert.deepEqual(c.store, {
      kind: 'sqlite',
      url: null,
      passwordFile: null,
      poolSize: 8,
      daemonName: null,
      timeoutMs: 5000,
      rolloutClaimTtlMs: 300000,
      syncIntervalMs: null,
      checkpointPeriodMs: null,
    });
  });

  it('store tuning comes from the file or KICKSTAND_STORE__*, and changing it needs a restart', () => {
    const f = write('store.yaml', `${MINIMAL}store: { syncIntervalMs: 0 }\n`);
    const c = loadConfig({ file: f, env: { KICKSTAND_STORE__CHECKPOINT_PERIOD_MS: '250' } });
    assert.deepEqual(c.store, {
      kind: 'sqlite',
      url: null,
      passwordFile: null,
      poolSize: 8,
      daemonName: null,
      timeoutMs: 5000,
      rolloutClaimTtlMs: 300000,
      syncIntervalMs: 0,
      checkpointPeriodMs: 250,
    });
    const live = new LiveConfig(c);
    assert.deepEqual(live.reload(loadConfig({ file: f, env: {} })), ['store']);
    assert.equal(live.current.store.checkpointPeriodMs, 250, 'the running value stays');
  });

  it('store.kind postgres: URL from the file or KICKSTAND_STORE__URL, password file resolved, no password in the URL', () => {
    const f = write('pg.yaml', `${MINIMAL}store: { kind: postgres, passwordFile: db-password }\n`);
    const c = loadConfig({ file: f, env: { KICKSTAND_STORE__URL: 'postgres://kickstand@127.0.0.1:5432/ks' } });
    assert.equal(c.store.kind, 'postgres');
    assert.equal(c.store.url, 'postgres://kickstand@127.0.0.1:5432/ks');
    assert.equal(c.store.passwordFile, join(dir, 'db-password'), 'relative to the config file');
    const refused = (yaml: string, re: RegExp) =>
      assert.throws(
        () => loadConfig({ file: write('bad-store.yaml', `${MINIMAL}${yaml}\n`), env: {} }),
        (e: unknown) => e instanceof ConfigError && e.problems.some((p) => re.test(p)),
        yaml,
      );
    refused(
      'store: { kind: postgres }',
      /^store\.url: required when store\.kind is postgres.*e\.g\. store\.url: postgres:\/\//,
    );
    refused('store: { kind: postgres, url: "mysql://x/y" }', /^store\.url: not a postgres:\/\/ or postgresql:\/\/ URL/);
    refused(
      'store: { kind: postgres, url: "postgres://ks:hunter2@db/ks" }',
      /^store\.url: holds a password; .*store\.passwordFile/,
    );
    refused('store: { kind: postgres, url: "postgres://ks@db/ks?password=hunter2" }', /^store\.url: holds a password/);
    refused('store: { url: "postgres://ks@db/ks" }', /^store\.url: only for store\.kind: postgres/);
    refused('store: { kind: oracle }', /^store\.kind: .*e\.g\. store\.kind: sqlite/);
    // Offers reserved in the store (docs/scale-out.md "Offers"): default on with postgres only.
    assert.equal(c.dhcp.reserveOffers, null, 'unset: decided by the store kind');
    refused(
      'dhcp: { reserveOffers: true }',
      /^dhcp\.reserveOffers: only for store\.kind: postgres.*remove dhcp\.reserveOffers.*e\.g\. dhcp\.reserveOffers: true/,
    );
    refused('dhcp: { reserveOffers: sometimes }', /^dhcp\.reserveOffers: /);
    const off = write('pg-no-reserve.yaml', `${MINIMAL}store: { kind: postgres }\ndhcp: { reserveOffers: false }\n`);
    assert.equal(
      loadConfig({ file: off, env: { KICKSTAND_STORE__URL: 'postgres://kickstand@127.0.0.1:5432/ks' } }).dhcp
        .reserveOffers,
      false,
    );
    try {
      loadConfig({
        file: write('bad-pw.yaml', `${MINIMAL}store: { kind: postgres, url: "postgres://ks:hunter2@db/ks" }\n`),
        env: {},
      });
    } catch (e) {
      assert.ok(!(e as Error).message.includes('hunter2'), 'the refusal does not repeat the password');
    }
  });

  it('applies KICKSTAND_ env overrides, then command-line overrides', () => {
    const f = write('env.yaml', MINIMAL);
    const c = loadConfig({
      file: f,
      env: {
        KICKSTAND_HTTP__LISTEN: '127.0.0.1:9999',
        KICKSTAND_NETWORK__DNS: '[198.18.0.53]',
        KICKSTAND_LOG__LEVEL: 'debug',
        KICKSTAND_TOKEN: 'client-only',
        KICKSTAND_URL: 'x',
      },
      overrides: { stateDir: 'rel/state' },
    });
    assert.equal(c.http.listen, '127.0.0.1:9999');
    assert.deepEqual(c.network.dns, ['198.18.0.53']);
    assert.equal(c.log.level, 'debug');
    assert.equal(c.stateDir, join(process.cwd(), 'rel/state'));
    assert.equal(loadConfig({ file: f, env: {}, overrides: { listen: '127.0.0.1:1' } }).http.listen, '127.0.0.1:1');
  });

  it('maps env names to camelCase paths', () => {
    assert.deepEqual(
      envOverrides({ KICKSTAND_STATE_DIR: '/x', KICKSTAND_NETWORK__POOL__START: '198.18.0.5' }).map((o) => o.path),
      [['network', 'pool', 'start'], ['stateDir']],
    );
  });

  it('refuses a bad file naming the file, the key, the problem and an example', () => {
    const f = write(
      'bad.yaml',
      `
network:
  address: 198.18.0.1
  subnet: 198.18.0.0/24
  pool: { start: 198.18.1.5, end: 198.18.0.199 }
http:
  listen: nowhere
dhcp:
  mode: sometimes
frobnicate: 1
`,
    );
    let err: ConfigError | undefined;
    try {
      loadConfig({ file: f, env: {} });
    } catch (e) {
      err = e as ConfigError;
    }
    assert.ok(err instanceof ConfigError, 'a ConfigError is thrown');
    assert.equal(err.code, 'KS_CONFIG_INVALID');
    assert.match(err.message, new RegExp(`invalid configuration in ${f.replace(/[.]/g, '\\.')}`));
    assert.ok(
      err.problems.some((p) =>
        /^network\.pool\.start: is outside subnet 198\.18\.0\.0\/24 — e\.g\. network\.pool\.start: 198\.18\.0\.100$/.test(
          p,
        ),
      ),
      err.problems.join('\n'),
    );
    assert.ok(
      err.problems.some((p) => p.startsWith('http.listen: HOST:PORT') && p.includes('e.g. http.listen: 0.0.0.0:8080')),
      err.problems.join('\n'),
    );
    assert.ok(
      err.problems.some((p) => p.startsWith('dhcp.mode:') && p.includes('e.g. dhcp.mode: authoritative')),
      err.problems.join('\n'),
    );
    assert.ok(
      err.problems.some((p) => p.includes('unknown key(s) frobnicate')),
      err.problems.join('\n'),
    );
  });

  it('names the environment variable when an override is wrong', () => {
    const f = write('envbad.yaml', MINIMAL);
    assert.throws(
      () => loadConfig({ file: f, env: { KICKSTAND_TFTP__MAX_SESSIONS: 'lots' } }),
      (e: ConfigError) =>
        e.problems.some((p) => p.startsWith('tftp.maxSessions:') && p.includes('(from KICKSTAND_TFTP__MAX_SESSIONS)')),
    );
  });

  it('refuses an unreadable file and YAML syntax errors', () => {
    assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), {
      code: 'KS_CONFIG_UNREADABLE',
      message: /ENOENT/,
      fix: /--config FILE/,
    });
    assert.throws(
      () => loadConfig({ file: write('syntax.yaml', 'network: [\n'), env: {} }),
      (e: ConfigError) => e.problems[0]!.startsWith('YAML syntax:'),
    );
    assert.throws(
      () => loadConfig({ file: write('list.yaml', '- a\n- b\n'), env: {} }),
      (e: ConfigError) => /YAML mapping/.test(e.problems[0]!),
    );
  });

  it('requires the network section', () => {
    assert.throws(
      () => loadConfig({ file: write('nonet.yaml', 'stateDir: /tmp/x\n'), env: {} }),
      (e: ConfigError) => e.problems.some((p) => p.startsWith('network:')),
    );
  });
});
