/**
 * The boot routes' fast path (src/http/boot/fast-path.ts) answers byte for byte as express did:
 * - src/http/reply.ts against express 5's own `res.status().type().set().send()` and
 *   `res.status().json()`, for the methods and conditional headers a client may send;
 * - the daemon's listener (fast paths, then express) against the express routes alone, on
 *   the same install flow, for every boot URL form, taken by the fast path or left to express;
 * - which requests the fast path takes (a request log line names none of them apart, so the
 *   test counts handler calls through dispatch).
 * Raw HTTP/1.1 over a socket, so header names, order and bodies are compared exactly (the
 * Date header aside).
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createMachineApp } from '../../src/http/app';
import { replyJson, replyText } from '../../src/http/reply';
import { dispatch } from '../../src/http/server';
import { installConfig, startHarness, type Harness } from '../install/harness';

function listen(handler: RequestListener): Promise<{ server: Server; port: number }> {
  return new Promise((ok) => {
    const server = createServer(handler).listen(0, '127.0.0.1', () =>
      ok({ server, port: (server.address() as AddressInfo).port }),
    );
  });
}

/** The raw response to `method path` with `headers`, without its Date line. */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, from = '127.0.0.1') {
  return new Promise<string>((ok, fail) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () =>
      ok(
        Buffer.concat(chunks)
          .toString('utf8')
          .replace(/^Date: .*\r\n/im, ''),
      ),
    );
    s.on('error', fail);
    s.setTimeout(10_000, () => s.destroy(new Error(`timeout: ${method} ${path}`)));
    const h = Object.entries({ Host: 'kickstand', Connection: 'close', ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    s.end(`${method} ${path} HTTP/1.1\r\n${h}\r\n`);
  });
}

const CONDITIONS: Array<Record<string, string>> = [
  {},
  { 'If-None-Match': '*' },
  { 'If-None-Match': '*', 'Cache-Control': 'no-cache' },
  { 'If-None-Match': '"abc"' },
  { 'If-Modified-Since': 'Mon, 07 Dec 2026 00:00:00 GMT' },
  { 'If-None-Match': '*', 'If-Modified-Since': 'Mon, 07 Dec 2026 00:00:00 GMT' },
];

describe('reply.ts writes what express 5 writes', () => {
  const servers: Server[] = [];
  let viaExpress = 0;
  let viaReply = 0;
  const TEXT = 'héllo #!ipxe\n';
  before(async () => {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.all('/t/:status', (req, res) => {
      res.status(Number(req.params.status)).type('text/plain').set('cache-control', 'no-store').send(TEXT);
    });
    app.all('/j/:status', (req, res) => {
      res.status(Number(req.params.status)).json({ code: 'KS_X', message: 'é' });
    });
    const a = await listen(app);
    const b = await listen((req, res) => {
      const [, kind, status] = (req.url ?? '').split('/');
      if (kind === 't') replyText(req, res, Number(status), TEXT);
      else replyJson(req, res, Number(status), { code: 'KS_X', message: 'é' });
    });
    servers.push(a.server, b.server);
    viaExpress = a.port;
    viaReply = b.port;
  });
  after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  for (const method of ['GET', 'HEAD', 'POST'])
    for (const kind of ['t', 'j'])
      for (const status of [200, 403, 500])
        it(`${method} ${kind} ${status}`, async () => {
          for (const h of CONDITIONS) {
            const want = await raw(viaExpress, method, `/${kind}/${status}`, h);
            assert.equal(await raw(viaReply, method, `/${kind}/${status}`, h), want, JSON.stringify(h));
          }
        });
});

describe('boot routes: the fast path answers as the express routes', () => {
  let h: Harness;
  let fast = 0;
  let slow = 0;
  const servers: Server[] = [];
  let taken: string[] = [];
  const MAC = '52:54:00:00:0f:01';
  before(async () => {
    h = await startHarness();
    await h.registry.add({ name: 'fp1', macs: [MAC], profile: 'rocky9', ipv4: '127.0.0.61' });
    // A host whose profile vanished from the config: its install script is an error reply.
    await h.registry.add({ name: 'fp2', macs: ['52:54:00:00:0f:02'], profile: 'rocky9', ipv4: '127.0.0.62' });
    const app = createMachineApp({ store: h.store, log: h.log, mounts: h.flow.mounts });
    const counted = h.flow.fastPaths.map((f) => ({
      prefix: f.prefix,
      handle: (...a: Parameters<typeof f.handle>) => {
        const took = f.handle(...a);
        if (took !== false) taken.push(a[0].url ?? '');
        return took;
      },
    }));
    const a = await listen(dispatch(app, counted));
    const b = await listen(app);
    servers.push(a.server, b.server);
    fast = a.port;
    slow = b.port;
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await h.close();
  });

  const same = async (method: string, path: string, from: string, headers: Record<string, string> = {}) => {
    const want = await raw(slow, method, path, headers, from);
    const got = await raw(fast, method, path, headers, from);
    assert.equal(got, want, `${method} ${path} from ${from}`);
    return got;
  };

  it('takes GET and HEAD of the canonical forms, leaves the rest to express', async () => {
    const token = 'A'.repeat(43);
    const cases: Array<[string, string, boolean]> = [
      ['GET', '/boot.ipxe', true],
      ['HEAD', '/boot.ipxe', true],
      ['GET', '/boot.ipxe?x=1', true],
      ['GET', '/ipxe/52-54-00-00-0f-09', true],
      ['GET', '/ipxe/52:54:00:00:0f:09?a', true],
      ['GET', '/ipxe/not-a-mac', true],
      ['GET', `/ks/${token}`, true],
      ['GET', '/ks/short', true],
      ['POST', '/boot.ipxe', false],
      ['DELETE', `/ks/${token}`, false],
      ['OPTIONS', '/ipxe/52-54-00-00-0f-09', false],
      ['GET', '/boot.ipxe/', false],
      ['GET', '/BOOT.IPXE', false],
      ['GET', '/boot.ipxeX', false],
      ['GET', '/ipxe/', false],
      ['GET', '/ipxe/52%3A54%3A00%3A00%3A0f%3A09', false],
      ['GET', '/ipxe/52-54-00-00-0f-09/', false],
      ['GET', '/ipxe/a/b', false],
      ['GET', '/ks/', false],
      ['GET', '/healthz', false],
    ];
    for (const [method, path, byFast] of cases) {
      taken = [];
      await same(method, path, '127.0.0.9');
      assert.deepEqual(taken, byFast ? [path] : [], `${method} ${path}`);
    }
  });

  it('scripts, refusals and kickstarts: the same bytes, status and headers', async () => {
    for (const hd of CONDITIONS) {
      await same('GET', '/boot.ipxe', '127.0.0.61', hd);
      await same('HEAD', '/ipxe/52-54-00-00-0f-09', '127.0.0.9', hd);
      await same('GET', '/ipxe/zz', '127.0.0.9', hd);
      await same('GET', `/ks/${'B'.repeat(43)}`, '127.0.0.9', hd);
    }
    // fp1's install script to another address: refused, 403 (no token).
    assert.match(await same('GET', `/ipxe/${MAC}`, '127.0.0.9'), /^HTTP\/1\.1 403 /);
    // To its own: the install script; the token is the same for both (issued once, live).
    const script = await same('GET', `/ipxe/${MAC}`, '127.0.0.61');
    const token = /\/ks\/([A-Za-z0-9_-]{43})/.exec(script)![1]!;
    // Its kickstart to another address: 403; then from its own: the first fetch through the
    // fast path, the second (again, a warn event) through express: equal bodies.
    await same('GET', `/ks/${token}`, '127.0.0.9');
    const first = await raw(fast, 'GET', `/ks/${token}`, {}, '127.0.0.61');
    const again = await raw(slow, 'GET', `/ks/${token}`, {}, '127.0.0.61');
    assert.match(first, /^HTTP\/1\.1 200 /);
    assert.equal(first, again);
    const fetched = (await h.store.events.list({ host: 'fp1' })).filter((e) => e.kind === 'kickstart.fetched');
    assert.deepEqual(
      fetched.map((e) => [e.level, e.data.again]),
      [
        ['info', false],
        ['warn', true],
      ],
    );
  });

  it('an error in a handler is the same JSON error reply', async () => {
    const cfg = installConfig();
    h.setConfig({ ...h.config, profiles: { other: cfg.profiles.rocky9! } });
    try {
      const r = await same('GET', '/ipxe/52-54-00-00-0f-02', '127.0.0.62');
      assert.match(r, /^HTTP\/1\.1 400 [\s\S]*"code":"KS_UNKNOWN_PROFILE"/);
    } finally {
      h.setConfig({ ...h.config, profiles: cfg.profiles });
    }
  });
});
