import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon } from '../../src/daemon';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { apiRoutes } from '../helpers/routes';

describe('operator API', () => {
  let dir: string;
  let daemon: Daemon;
  let base: string;
  let token: string;

  let running: InProcessDaemon;

  before(async () => {
    running = await startInProcess('ks-api');
    ({ dir, daemon, base, token } = running);
  });
  after(() => running.close());

  const call = async (method: string, path: string, body?: unknown, auth: string | null = `Bearer ${token}`) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth !== null) headers.authorization = auth;
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  it('writes the API token 0600 in a 0700 state dir', () => {
    assert.equal(statSync(join(dir, 'state', 'api-token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
    assert.ok(token.length >= 40);
  });

  it('every /api/v1 route refuses a missing, malformed or wrong token (router table walk)', async () => {
    const routes = apiRoutes(daemon.apiApp);
    assert.ok(routes.length >= 7, `found ${routes.length} routes`);
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, 'x1');
      for (const auth of [
        null,
        'Bearer',
        `Bearer ${token}x`,
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        token,
        `Bearer ${token.slice(0, -1)}`,
      ]) {
        const res = await call(r.method, path, r.method === 'GET' || r.method === 'DELETE' ? undefined : {}, auth);
        assert.equal(res.status, 401, `${r.method} ${r.path} with ${auth === null ? 'no header' : auth.slice(0, 12)}`);
        assert.equal(res.body.code, 'KS_UNAUTHORIZED');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="kickstand"');
      }
    }
  });

  it('creates, reads, updates and deletes a host', async () => {
    const c = await call('POST', '/api/v1/hosts', {
      name: 'node1',
      macs: ['52-54-00-AA-BB-01'],
      profile: 'rocky9',
      role: 'server',
      vars: { disk: 'vda' },
    });
    assert.equal(c.status, 201);
    assert.equal(c.headers.get('location'), '/api/v1/hosts/node1');
    assert.deepEqual(c.body.macs, ['52:54:00:aa:bb:01']);
    assert.equal(c.body.state, 'armed');
    assert.equal((await call('GET', '/api/v1/hosts/node1')).body.role, 'server');
    const u = await call('PATCH', '/api/v1/hosts/node1', { netboot: false, ipv4: '198.18.0.20' });
    assert.equal(u.status, 200);
    assert.equal(u.body.state, 'registered');
    assert.equal(u.body.ipv4, '198.18.0.20');
    const ev = await call('GET', '/api/v1/hosts/node1/events');
    assert.deepEqual(
      ev.body.events.map((e: { kind: string }) => e.kind),
      ['api.write', 'host.created', 'api.write', 'host.updated', 'host.state'],
    );
    assert.equal(ev.body.events[0].data.token, 'api-token', 'the write names its token');
    assert.equal((await call('GET', '/api/v1/hosts')).body.hosts.length, 1);
    assert.equal((await call('DELETE', '/api/v1/hosts/node1')).status, 204);
    assert.equal((await call('GET', '/api/v1/hosts/node1')).status, 404);
    const all = await call('GET', '/api/v1/events?limit=10');
    assert.equal(all.body.events.at(-1).kind, 'host.deleted');
  });

  it('answers bad input with {code, message, field, fix}', async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [{ name: 'Bad_Name', macs: ['52:54:00:00:00:01'], profile: 'rocky9' }, 400, 'KS_INVALID_HOSTNAME', 'name'],
      [{ name: 'n1', macs: ['52:54:00:00:00'], profile: 'rocky9' }, 400, 'KS_INVALID_MAC', 'macs[0]'],
      [{ name: 'n1', macs: [], profile: 'rocky9' }, 400, 'KS_INVALID_MAC', 'macs'],
      [
        { name: 'n1', macs: ['52:54:00:00:00:01', '52-54-00-00-00-01'], profile: 'rocky9' },
        400,
        'KS_INVALID_MAC',
        'macs',
      ],
      [{ name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'nope' }, 400, 'KS_UNKNOWN_PROFILE', 'profile'],
      [
        { name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', ipv4: '198.19.0.5' },
        400,
        'KS_IP_OUTSIDE_SUBNET',
        'ipv4',
      ],
      [
        { name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', ipv4: '198.18.0.255' },
        400,
        'KS_IP_OUTSIDE_SUBNET',
        'ipv4',
      ],
      [{ name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', ipv4: '198.18.0.1' }, 409, 'KS_IP_IN_USE', 'ipv4'],
      [{ name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', ipv4: '1.2.3' }, 400, 'KS_INVALID_IPV4', 'ipv4'],
      [
        { name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', vars: { x: 'a\n%post' } },
        400,
        'KS_INVALID_VAR',
        'vars.x',
      ],
      [
        { name: 'n1', macs: ['52:54:00:00:00:01'], profile: 'rocky9', netboot: 'yes' },
        400,
        'KS_INVALID_INPUT',
        'netboot',
      ],
      ['{"name": ', 400, 'KS_INVALID_INPUT', 'body'],
    ];
    for (const [body, status, code, field] of cases) {
      const r = await call('POST', '/api/v1/hosts', body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.code, code, JSON.stringify(body));
      assert.equal(r.body.field, field, JSON.stringify(body));
      assert.equal(typeof r.body.message, 'string');
      assert.equal(typeof r.body.fix, 'string');
    }
    assert.equal((await call('GET', '/api/v1/hosts')).body.hosts.length, 0, 'nothing was half-created');
  });

  it('refuses duplicates across hosts', async () => {
    await call('POST', '/api/v1/hosts', {
      name: 'a1',
      macs: ['52:54:00:00:01:01'],
      profile: 'rocky9',
      ipv4: '198.18.0.30',
    });
    assert.equal(
      (await call('POST', '/api/v1/hosts', { name: 'a1', macs: ['52:54:00:00:01:02'], profile: 'rocky9' })).body.code,
      'KS_HOST_EXISTS',
    );
    assert.equal(
      (await call('POST', '/api/v1/hosts', { name: 'a2', macs: ['5254.0000.0101'], profile: 'rocky9' })).body.code,
      'KS_MAC_IN_USE',
    );
    assert.equal(
      (
        await call('POST', '/api/v1/hosts', {
          name: 'a3',
          macs: ['52:54:00:00:01:03'],
          profile: 'rocky9',
          ipv4: '198.18.0.30',
        })
      ).body.code,
      'KS_IP_IN_USE',
    );
    assert.equal((await call('PATCH', '/api/v1/hosts/a1', { name: 'zz' })).body.code, 'KS_INVALID_INPUT');
    await call('DELETE', '/api/v1/hosts/a1');
  });

  it('streams the timeline as server-sent events', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/v1/watch?host=w1`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ctl.signal,
    });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    await call('POST', '/api/v1/hosts', { name: 'w1', macs: ['52:54:00:00:02:01'], profile: 'rocky9' });
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('host.created') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    ctl.abort();
    assert.match(text, /event: timeline\ndata: \{.*"kind":"host.created"/);
    await call('DELETE', '/api/v1/hosts/w1');
  });

  it('serves /healthz without a token, /metrics with one, and JSON 404s', async () => {
    assert.deepEqual((await call('GET', '/healthz', undefined, null)).body, { ok: true, store: 'sqlite' });
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    const m = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.match(await m.text(), /kickstand_process_cpu_seconds_total/);
    const nf = await call('GET', '/nope', undefined, null);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'KS_NOT_FOUND');
  });
});
