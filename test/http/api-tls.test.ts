/**
 * The API listener off loopback needs TLS; with TLS the CLI pins the certificate's SHA-256
 * fingerprint (--ca, KICKSTAND_CA, or the config's api.tls.cert) and refuses a mismatch
 * before a byte of the request — the token — is sent. Also the unix socket listener (0660).
 * The real daemon in process, the real CLI as a child process, Debian's openssl for the pair.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { stringify } from 'yaml';
import { generateSelfSigned } from '../../src/auth/tls-cert';
import { ConfigError, loadConfig } from '../../src/config/load';
import { REPO, cliArgv, startInProcess, testConfig, type InProcessDaemon } from '../helpers/daemon';
import { missing } from '../helpers/env';

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      [...cliArgv(), ...args],
      {
        cwd: REPO,
        timeout: 30_000,
        env: {
          ...process.env,
          KICKSTAND_URL: undefined,
          KICKSTAND_TOKEN: undefined,
          KICKSTAND_CONFIG: undefined,
          KICKSTAND_CA: undefined,
          ...env,
        },
      },
      (err, stdout, stderr) => ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const why = missing({ binaries: ['openssl'] });

describe('API over TLS with a pinned certificate', { skip: why ?? false }, () => {
  let d: InProcessDaemon;
  let fingerprint = '';
  let cert = '';

  before(async () => {
    d = await startInProcess('ks-tls', (dir) => {
      cert = join(dir, 'api.crt');
      fingerprint = generateSelfSigned({
        certFile: cert,
        keyFile: join(dir, 'api.key'),
        names: ['127.0.0.1', 'localhost'],
      });
      return testConfig(dir, { api: { listen: '127.0.0.1:0', tls: { cert: 'api.crt', key: 'api.key' } } });
    });
  });
  after(() => d?.close());

  it('writes the key 0600 and gives the fingerprint as sha256:AB:…', () => {
    assert.match(fingerprint, /^sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(statSync(join(d.dir, 'api.key')).mode & 0o777, 0o600);
    assert.match(d.daemon.api.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('the CLI with the right pin works (flag, env, certificate file, lower case without colons)', async () => {
    const server = d.daemon.api.url();
    const base = ['--server', server, '--token', d.token];
    const plain = fingerprint.slice(7).replace(/:/g, '').toLowerCase();
    for (const [args, env] of [
      [['--ca', fingerprint], {}],
      [[], { KICKSTAND_CA: fingerprint }],
      [['--ca', cert], {}],
      [['--ca', plain], {}],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const r = await cli([...base, ...args, 'host', 'list', '--json'], env);
      assert.equal(r.code, 0, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), []);
    }
  });

  it('a wrong pin is refused, naming both fingerprints; no pin fails the CA check', async () => {
    const wrong = 'sha256:' + '00:'.repeat(31) + '00';
    const r = await cli(['--server', d.daemon.api.url(), '--token', d.token, '--ca', wrong, 'host', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KS_TLS_PIN_MISMATCH/);
    assert.ok(r.stderr.includes(fingerprint), r.stderr);
    const none = await cli(['--server', d.daemon.api.url(), '--token', d.token, 'host', 'list']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /SELF_SIGNED|CERT/);
    assert.match(none.stderr, /--ca FINGERPRINT or KICKSTAND_CA/);
  });

  it('on a mismatch nothing of the request reaches the server (the token stays with the client)', async () => {
    // An impostor with another self-signed certificate, recording every byte it receives.
    const dir = mkdtempSync(join(tmpdir(), 'ks-impostor-'));
    try {
      generateSelfSigned({ certFile: join(dir, 'c'), keyFile: join(dir, 'k'), names: ['127.0.0.1'] });
      let received = 0;
      const impostor = createTlsServer(
        { cert: readFileSync(join(dir, 'c')), key: readFileSync(join(dir, 'k')) },
        (s) => {
          s.on('data', (b: Buffer) => (received += b.length));
          s.on('error', () => {});
        },
      );
      await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
      const port = (impostor.address() as AddressInfo).port;
      const r = await cli([
        '--server',
        `https://127.0.0.1:${port}`,
        '--token',
        'secret-token-0123456789',
        '--ca',
        fingerprint,
        'host',
        'list',
      ]);
      await new Promise<void>((r2) => impostor.close(() => r2()));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /KS_TLS_PIN_MISMATCH/);
      assert.equal(received, 0, 'no request byte was sent to the impostor');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`kickstand api cert` writes a pair, prints its fingerprint, --show repeats it, and will not overwrite', async () => {
    const certFile = join(d.dir, 'cli.crt');
    const made = await cli([
      'api',
      'cert',
      '--cert',
      certFile,
      '--key',
      join(d.dir, 'cli.key'),
      '--name',
      '198.18.0.1',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const fp = made.stdout.trim();
    assert.match(fp, /^sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.match(made.stderr, /KICKSTAND_CA=sha256:/);
    assert.equal((await cli(['api', 'cert', '--cert', certFile, '--show'])).stdout.trim(), fp);
    const again = await cli(['api', 'cert', '--cert', certFile, '--key', join(d.dir, 'cli.key'), '--name', 'x']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists.*--force/s);
  });

  it('the local admin needs no --ca: the config names the certificate', async () => {
    const file = join(d.dir, 'client.yaml');
    const port = d.daemon.api.address()!.port;
    writeFileSync(
      file,
      stringify(testConfig(d.dir, { api: { listen: `127.0.0.1:${port}`, tls: { cert: 'api.crt', key: 'api.key' } } })),
    );
    const r = await cli(['--config', file, 'host', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('api.listen validation and the unix socket', () => {
  it('refuses a non-local api.listen without TLS, naming the key and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-apicfg-'));
    try {
      const file = join(dir, 'k.yaml');
      writeFileSync(file, stringify(testConfig(dir, { api: { listen: '198.18.0.1:8443' } })));
      assert.throws(
        () => loadConfig({ file, env: {} }),
        (e: unknown) => e instanceof ConfigError && /api\.tls: .*needs TLS.*kickstand api cert/.test(e.message),
      );
      writeFileSync(file, stringify(testConfig(dir, { api: { listen: '198.18.0.1:8443', tls: { cert: 'a.crt' } } })));
      assert.throws(() => loadConfig({ file, env: {} }), /api\.tls\.key: api\.tls needs both cert and key/);
      writeFileSync(
        file,
        stringify(testConfig(dir, { api: { listen: '198.18.0.1:8443', tls: { cert: 'a.crt', key: 'a.key' } } })),
      );
      assert.equal(loadConfig({ file, env: {} }).api.tls.cert, join(dir, 'a.crt'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the API on a unix socket of mode 0660; the CLI reaches it with --server unix:PATH', async () => {
    let sock = '';
    const d = await startInProcess('ks-sock', (dir) => {
      sock = join(dir, 'api.sock');
      return testConfig(dir, { api: { listen: `unix:${sock}` } });
    });
    try {
      assert.equal(statSync(sock).mode & 0o777, 0o660);
      assert.equal(d.daemon.api.url(), `unix:${sock}`);
      const r = await cli(['--server', `unix:${sock}`, '--token', d.token, 'host', 'list', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), []);
    } finally {
      await d.close();
    }
  });
});
