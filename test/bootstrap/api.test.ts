/**
 * The bootstrapper through its operator surfaces with real parts: the express app on loopback
 * with the /api/v1 bootstrap routes, the real `kickstand` CLI as a child process, the trigger
 * service (installed host → SSH probe → bootstrap), and real sshd + wireguard-go nodes. Canary
 * secrets (the join token, the nodes' WireGuard private keys, Kickstand's SSH private key) are
 * scanned for in every log line, event, API body and CLI output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { missing, skipUnless } from '../helpers/env';
import { cliArgv, REPO } from '../helpers/daemon';
import { harness, type Harness } from './harness';
import type { SshdNode } from '../helpers/sshd-node';
import { ApiTokens } from '../../src/auth/tokens';
import { createApiApp } from '../../src/http/app';
import { bootstrapRouter } from '../../src/http/api/bootstrap';
import { BootstrapTrigger } from '../../src/bootstrap/trigger';
import { TOKEN_SETTING } from '../../src/bootstrap/k3s';
import { loadBootstrapKey } from '../../src/bootstrap/keys';

const need = { root: true, binaries: ['sshd', 'ssh-keygen', 'wireguard-go', 'wg', 'ip', 'nsenter', 'unshare'] };
const why = missing(need);
const CANARY = 'f00dcafe0canary0k3s0token0aa11bb22cc33dd44ee55ff6677889900aabbcc';
const API_TOKEN = 'test-api-token-0123456789abcdef';

function cli(args: string[], server: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...cliArgv(), '--server', server, '--token', API_TOKEN, ...args], {
      cwd: REPO,
      env: { ...process.env, KICKSTAND_CONFIG: undefined },
    });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out });
    });
  });
}

describe('bootstrap: API, CLI, trigger and inventory', { skip: why ?? false, timeout: 110_000 }, () => {
  let h: Harness;
  let nodes: SshdNode[];
  let server: Server;
  let url: string;
  let trigger: BootstrapTrigger;
  const outputs: string[] = [];

  before(async () => {
    h = await harness({ probe: { enabled: true, initialDelayMs: 100, maxDelayMs: 400, giveUpAfterMs: 30_000 } });
    await h.store.settings.set(TOKEN_SETTING, CANARY);
    nodes = [1, 2, 3].map((i) => h.lab.addNode(i));
    await h.lab.forward();
    const app = createApiApp({
      store: h.store,
      registry: h.registry,
      timeline: h.timeline,
      log: h.log,
      metrics: new Registry(),
      tokens: new ApiTokens(API_TOKEN, null),
      apiRouters: [
        bootstrapRouter({ bootstrapper: h.boot, registry: h.registry, store: h.store, sshUser: () => 'root' }),
      ],
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    trigger = new BootstrapTrigger({
      bootstrapper: h.boot,
      registry: h.registry,
      store: h.store,
      config: () => h.config,
      subscribe: (fn) => h.timeline.subscribe(fn),
      log: h.log,
    });
    await trigger.start();
  });
  after(async () => {
    await trigger?.stop();
    server?.close();
    await h?.close();
  });

  it('an installed host that answers on SSH is bootstrapped by the trigger, no operator', async () => {
    await h.install(nodes[0]!, 'server');
    let state = '';
    for (let i = 0; i < 300 && state !== 'ready' && state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await h.registry.require('node1')).state;
    }
    assert.equal(state, 'ready');
    const ev = await h.store.events.list({ host: 'node1' });
    assert.ok(ev.some((e) => e.kind === 'host.state' && /installed host answered on SSH/.test(e.message)));
  });

  it('`kickstand host bootstrap NAME` runs the plan and follows it to ready; re-run changes nothing', async () => {
    await h.install(nodes[1]!, 'agent');
    await h.boot.idle(); // the trigger may have started it already; the CLI re-runs it
    const r = await cli(['host', 'bootstrap', 'node2'], url);
    outputs.push(r.out);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /node2: ready/);
    assert.match(r.out, /bootstrap\.done/);
    const again = await fetch(`${url}/api/v1/hosts/node2/bootstrap?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const body = await again.text();
    outputs.push(body);
    assert.equal(again.status, 200);
    const j = JSON.parse(body) as { ok: boolean; changed: number };
    assert.equal(j.ok, true);
    assert.equal(j.changed, 0);
  });

  it('refuses to bootstrap a host that is not installed yet (409), and an unknown host (404)', async () => {
    await h.registry.add({
      name: 'node9',
      macs: ['52:54:00:00:09:09'],
      profile: 'rocky9',
      role: 'agent',
      netboot: true,
    });
    const a = await fetch(`${url}/api/v1/hosts/node9/bootstrap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    assert.equal(a.status, 409);
    assert.equal(((await a.json()) as { code: string }).code, 'KS_ILLEGAL_TRANSITION');
    const b = await fetch(`${url}/api/v1/hosts/nope/bootstrap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    assert.equal(b.status, 404);
    const c = await fetch(`${url}/api/v1/hosts/node1/bootstrap`, { method: 'POST' });
    assert.equal(c.status, 401);
  });

  it('`kickstand inventory` prints Ansible INI, YAML and dynamic JSON grouped by role and profile, with mesh addresses', async () => {
    const m1 = (await h.store.mesh.get('node1'))!.address;
    const ini = await cli(['inventory', '--format', 'ini'], url);
    const yml = await cli(['inventory', '--format', 'yaml'], url);
    const jsn = await cli(['inventory', '--format', 'json'], url);
    outputs.push(ini.out, yml.out, jsn.out);
    for (const r of [ini, yml, jsn]) assert.equal(r.code, 0, r.out);
    assert.match(
      ini.out,
      new RegExp(
        `^node1 ansible_host=${nodes[0]!.address} ansible_user=root mesh_address=${m1} kickstand_role=server`,
        'm',
      ),
    );
    assert.match(ini.out, /^\[role_server\]\nnode1$/m);
    assert.match(ini.out, /^\[role_agent\]\nnode2\nnode9$/m);
    assert.match(ini.out, /^\[profile_rocky9\]\nnode1\nnode2\nnode9$/m);
    const y = parseYaml(yml.out) as {
      all: { children: Record<string, { hosts: Record<string, Record<string, string>> }> };
    };
    assert.equal(y.all.children.kickstand!.hosts.node1!.mesh_address, m1);
    assert.deepEqual(Object.keys(y.all.children.role_agent!.hosts), ['node2', 'node9']);
    const j = JSON.parse(jsn.out) as {
      _meta: { hostvars: Record<string, Record<string, string>> };
      role_server: { hosts: string[] };
    };
    assert.equal(j._meta.hostvars.node1!.mesh_address, m1);
    assert.deepEqual(j.role_server.hosts, ['node1']);
    assert.equal(j._meta.hostvars.node9!.mesh_address, undefined);
  });

  it('ansible-inventory reads the three formats (INI, YAML, JSON as an inventory script)', async (t) => {
    if (skipUnless(t, { binaries: ['ansible-inventory'] })) return;
    const m1 = (await h.store.mesh.get('node1'))!.address;
    for (const fmt of ['ini', 'yaml', 'json']) {
      const r = await cli(['inventory', '--format', fmt], url);
      const file = join(h.dir, fmt === 'json' ? 'inventory.sh' : `inventory.${fmt}`);
      if (fmt === 'json') writeFileSync(file, `#!/bin/sh\ncat <<'EOF'\n${r.out}EOF\n`, { mode: 0o755 });
      else writeFileSync(file, r.out);
      const out = execFileSync('ansible-inventory', ['-i', file, '--list'], {
        encoding: 'utf8',
        env: { ...process.env, ANSIBLE_LOCAL_TEMP: join(h.dir, 'ansible-tmp') },
        timeout: 60_000,
      });
      const j = JSON.parse(out) as {
        _meta: { hostvars: Record<string, Record<string, string>> };
        role_agent: { hosts: string[] };
      };
      assert.equal(j._meta.hostvars.node1?.mesh_address, m1, `${fmt}: ${out.slice(0, 300)}`);
      assert.deepEqual(j.role_agent.hosts, ['node2', 'node9'], fmt);
    }
  });

  it('canary secrets never appear in logs, events, API bodies or CLI output', async () => {
    const mesh = await fetch(`${url}/api/v1/mesh`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    outputs.push(await mesh.text());
    const events = JSON.stringify(await h.store.events.list({ limit: 100000 }));
    const privs = [nodes[0]!, nodes[1]!].map((n) => n.exec('cat', ['/etc/wireguard/wg0.key']).trim());
    const sshKey = loadBootstrapKey(h.stateDir)
      .privateKey.split('\n')
      .filter((l) => l.length > 40)[1]!;
    const blobs = { log: h.logText(), events, outputs: outputs.join('\n') };
    for (const secret of [CANARY, ...privs, sshKey]) {
      for (const [where, text] of Object.entries(blobs))
        assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in ${where}`);
    }
    // and the scan is not vacuous: the token really reached the nodes (k3s stand-in records its hash)
    assert.match(nodes[0]!.exec('cat', ['/run/k3s-recorder/token.sha256.1']), /^[0-9a-f]{64}/);
  });
});
