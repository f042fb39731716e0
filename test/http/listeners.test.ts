/**
 * The two listeners (docs/api.md, "Two listeners"): every /api/v1 route — read from the API
 * app's router table, so a new route cannot escape — answers 404 on the machine listener and
 * 401 without a token on the API listener; machine routes are not on the API listener; token
 * scopes (a read token may only GET, and never showSecrets), tokens stored hashed, and the
 * audit event naming the token. The real daemon (buildDaemon), in process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { apiRoutes } from '../helpers/routes';

const concrete = (path: string): string => path.replace(/:(\w+)/g, 'x1');

describe('two listeners, scopes and the audit trail', () => {
  let d: InProcessDaemon;
  const call = async (base: string, method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(base + path, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, body: isJson && text ? JSON.parse(text) : text };
  };

  before(async () => {
    d = await startInProcess('ks-listeners');
  });
  after(() => d.close());

  it('every /api/v1 route: 404 on the machine listener, 401 without a token on the API listener', async () => {
    const routes = apiRoutes(d.daemon.apiApp);
    assert.ok(routes.length >= 20, `found ${routes.length} routes`);
    assert.ok(routes.some((r) => r.path === '/api/v1/tokens' && r.method === 'POST'));
    for (const r of routes) {
      const path = concrete(r.path);
      const onMachine = await call(d.machineBase, r.method, path, d.token);
      assert.equal(onMachine.status, 404, `${r.method} ${r.path} on the machine listener`);
      const noToken = await call(d.base, r.method, path, null);
      assert.equal(noToken.status, 401, `${r.method} ${r.path} on the API listener without a token`);
    }
    assert.equal((await call(d.machineBase, 'GET', '/metrics', d.token)).status, 404, '/metrics is not for machines');
    assert.equal((await call(d.base, 'GET', '/metrics', null)).status, 401);
    assert.equal((await call(d.machineBase, 'GET', '/healthz', null)).status, 200);
    assert.equal(
      (await call(d.base, 'GET', '/boot.ipxe', null)).status,
      404,
      'boot scripts are not on the API listener',
    );
    // The web console (docs/console.md) is on the API listener only.
    for (const [method, path] of [
      ['GET', '/console/'],
      ['GET', '/console/app.js'],
      ['GET', '/console/session'],
      ['POST', '/console/login'],
      ['POST', '/console/logout'],
    ] as const)
      assert.equal(
        (await call(d.machineBase, method, path, null)).status,
        404,
        `${method} ${path} on the machine listener`,
      );
    assert.equal((await call(d.base, 'GET', '/console/', null)).status, 200, 'the console is on the API listener');
    assert.equal((await call(d.base, 'GET', '/console/session', null)).status, 401);
  });

  it('a read token may GET, never write or ask for secrets; tokens are stored hashed; revoke works', async () => {
    const made = await call(d.base, 'POST', '/api/v1/tokens', d.token, { name: 'grafana', scope: 'read' });
    assert.equal(made.status, 201);
    const read = made.body.token as string;
    assert.ok(read.length >= 40);
    const file = readFileSync(join(d.dir, 'state', 'tokens.json'), 'utf8');
    assert.ok(!file.includes(read), 'the token is not stored in clear');
    assert.equal(statSync(join(d.dir, 'state', 'tokens.json')).mode & 0o777, 0o600);

    await call(d.base, 'POST', '/api/v1/hosts', d.token, {
      name: 'x1',
      macs: ['52:54:00:00:0e:01'],
      profile: 'rocky9',
    });
    for (const r of apiRoutes(d.daemon.apiApp)) {
      if (r.path === '/api/v1/watch') continue; // a stream: checked below
      const res = await call(d.base, r.method, concrete(r.path), read);
      if (r.method === 'GET' || r.method === 'HEAD')
        assert.ok(res.status !== 401 && res.status !== 403, `${r.method} ${r.path}: read may read (${res.status})`);
      else assert.equal(res.status, 403, `${r.method} ${r.path}: read may not write`);
    }
    const secrets = await call(d.base, 'GET', '/api/v1/hosts/x1/render?kind=kickstart&showSecrets=1', read);
    assert.equal(secrets.status, 403);
    assert.equal(secrets.body.code, 'KS_FORBIDDEN');
    assert.equal((await call(d.base, 'GET', '/metrics', read)).status, 200);
    const listed = await call(d.base, 'GET', '/api/v1/tokens', read);
    assert.deepEqual(
      listed.body.tokens.map((t: { name: string; scope: string }) => `${t.name}:${t.scope}`),
      ['api-token:admin', 'grafana:read'],
    );
    assert.ok(!JSON.stringify(listed.body).includes(read));
    assert.equal((await call(d.base, 'DELETE', '/api/v1/tokens/grafana', d.token)).status, 204);
    assert.equal((await call(d.base, 'GET', '/api/v1/hosts', read)).status, 401, 'revoked');
  });

  it("every write names its token in the host's timeline, before what it caused", async () => {
    const ops = (await call(d.base, 'POST', '/api/v1/tokens', d.token, { name: 'ops', scope: 'admin' })).body.token;
    await call(d.base, 'POST', '/api/v1/hosts', ops, { name: 'a1', macs: ['52:54:00:00:0e:02'], profile: 'rocky9' });
    await call(d.base, 'PATCH', '/api/v1/hosts/a1', ops, { netboot: false });
    const ev = (await call(d.base, 'GET', '/api/v1/hosts/a1/events', d.token)).body.events as Array<{
      kind: string;
      data: Record<string, unknown>;
    }>;
    assert.deepEqual(
      ev.map((e) => e.kind),
      ['api.write', 'host.created', 'api.write', 'host.updated', 'host.state'],
    );
    assert.deepEqual(ev[2]!.data, { token: 'ops', scope: 'admin', method: 'PATCH', path: '/hosts/a1' });
    // A refused write by a read token is on the timeline too.
    const ro = (await call(d.base, 'POST', '/api/v1/tokens', d.token, { name: 'ro', scope: 'read' })).body.token;
    assert.equal((await call(d.base, 'DELETE', '/api/v1/hosts/a1', ro)).status, 403);
    const last = (await call(d.base, 'GET', '/api/v1/hosts/a1/events', d.token)).body.events.at(-1);
    assert.equal(last.kind, 'api.write');
    assert.equal(last.data.token, 'ro');
  });
});
