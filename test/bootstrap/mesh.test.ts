/**
 * Bootstrap with real parts: each node is a namespace running a real OpenSSH sshd and
 * wireguard-go (this kernel has no wireguard module). Checks mesh reachability over the mesh
 * addresses, a late joiner, removal from every peer list, idempotent re-runs, and the k3s
 * invocation through a recording stand-in (k3s cannot run here; no test claims a cluster).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { missing } from '../helpers/env';
import { harness, meshPing, type Harness } from './harness';
import type { SshdNode } from '../helpers/sshd-node';
import { TOKEN_SETTING } from '../../src/bootstrap/k3s';

const need = { root: true, binaries: ['sshd', 'ssh-keygen', 'wireguard-go', 'wg', 'ip', 'nsenter', 'ping', 'unshare'] };
const why = missing(need);

describe(
  'bootstrap: WireGuard mesh over real sshd + wireguard-go nodes',
  { skip: why ?? false, timeout: 110_000 },
  () => {
    let h: Harness;
    let nodes: SshdNode[];

    before(async () => {
      h = await harness();
      nodes = [1, 2, 3].map((i) => h.lab.addNode(i));
      await h.lab.forward();
      await h.install(nodes[0]!, 'server');
      await h.install(nodes[1]!, 'server');
      await h.install(nodes[2]!, 'agent');
    });
    after(async () => {
      await h?.close();
    });

    it('bootstraps three nodes in parallel; every node pings every other over its mesh address', async () => {
      const results = await Promise.all(nodes.map((n) => h.boot.bootstrap(n.name, 'test')));
      for (const r of results) assert.equal(r.ok, true, `${r.host}: ${r.error?.message}`);
      for (const n of nodes) assert.equal((await h.registry.require(n.name)).state, 'ready');
      const members = await h.store.mesh.list();
      assert.equal(members.length, 3);
      assert.equal(new Set(members.map((m) => m.address)).size, 3);
      for (const a of nodes) {
        for (const b of members) {
          if (b.host === a.name) continue;
          assert.ok(meshPing(a, b.address), `${a.name} cannot ping ${b.host} at ${b.address}`);
        }
      }
      // persisted: wg0.conf on each node lists the two others, and the private key stayed there (0600)
      for (const n of nodes) {
        const conf = n.exec('cat', ['/etc/wireguard/wg0.conf']);
        assert.equal((conf.match(/\[Peer\]/g) ?? []).length, 2);
        assert.doesNotMatch(conf, /PrivateKey/);
        assert.equal(statSync(join(n.dir, 'etc-wireguard', 'wg0.key')).mode & 0o777, 0o600);
        const priv = n.exec('cat', ['/etc/wireguard/wg0.key']).trim();
        assert.doesNotMatch(h.logText(), new RegExp(escape(priv)));
        const evs = JSON.stringify(await h.store.events.list({ limit: 10000 }));
        assert.ok(!evs.includes(priv), 'a node private key reached the timeline');
      }
    });

    it('k3s stand-in: records invocation — first server inits, others join over the mesh, token only in env', async () => {
      const token = (await h.store.settings.get(TOKEN_SETTING))!;
      assert.match(token, /^[0-9a-f]{64}$/);
      const sha = createHash('sha256').update(token).digest('hex');
      const m = new Map((await h.store.mesh.list()).map((x) => [x.host, x.address]));
      const rec = (n: SshdNode, f: string) => n.exec('cat', [`/run/k3s-recorder/${f}.1`]);
      const initName = (await h.store.settings.get('k3s.init-server'))!;
      const init = nodes.find((n) => n.name === initName)!;
      const other = nodes.find((n) => n.name !== initName && n.name !== 'node3')!;
      assert.ok(init && other, 'one of the two servers initialised the cluster');
      assert.deepEqual(rec(init, 'argv').trim().split('\n'), [
        'server',
        '--cluster-init',
        '--node-ip',
        m.get(init.name)!,
        '--flannel-iface',
        'wg0',
      ]);
      assert.deepEqual(rec(other, 'argv').trim().split('\n'), [
        'server',
        '--server',
        `https://${m.get(init.name)}:6443`,
        '--node-ip',
        m.get(other.name)!,
        '--flannel-iface',
        'wg0',
      ]);
      assert.deepEqual(rec(nodes[2]!, 'argv').trim().split('\n'), [
        'agent',
        '--node-ip',
        m.get('node3')!,
        '--flannel-iface',
        'wg0',
      ]);
      assert.match(
        rec(nodes[2]!, 'env'),
        new RegExp(`^K3S_URL=https://${m.get(init.name)!.replace(/\./g, '\\.')}:6443$`, 'm'),
      );
      assert.doesNotMatch(rec(init, 'env'), /^K3S_URL=/m);
      for (const n of nodes) {
        assert.equal(rec(n, 'token.sha256').trim(), sha, `${n.name} got the cluster token in K3S_TOKEN`);
        assert.ok(!rec(n, 'cmdlines').includes(token), `token on a command line on ${n.name}`);
        assert.ok(!rec(n, 'env').includes(token));
      }
      assert.ok(!h.logText().includes(token), 'token in the log');
      assert.ok(!JSON.stringify(await h.store.events.list({ limit: 10000 })).includes(token), 'token in an event');
    });

    it('re-running the plan changes nothing (files untouched, no new k3s invocation)', async () => {
      const before = nodes.map((n) => statSync(join(n.dir, 'etc-wireguard', 'wg0.conf')));
      const results = await Promise.all(nodes.map((n) => h.boot.bootstrap(n.name, 'test: re-run')));
      for (const r of results) {
        assert.equal(r.ok, true, r.error?.message);
        assert.equal(
          r.changed,
          0,
          `${r.host} changed: ${r.steps
            .filter((s) => s.changed)
            .map((s) => `${s.name} (${s.detail})`)
            .join(',')}`,
        );
      }
      nodes.forEach((n, i) => {
        const now = statSync(join(n.dir, 'etc-wireguard', 'wg0.conf'));
        assert.equal(now.ino, before[i]!.ino);
        assert.equal(now.mtimeMs, before[i]!.mtimeMs);
        assert.equal(n.exec('sh', ['-c', 'ls /run/k3s-recorder | grep -c "^argv"']).trim(), '1');
      });
    });

    it('a node added later is reachable from all earlier ones without touching them by hand', async () => {
      const late = h.lab.addNode(4);
      nodes.push(late);
      await h.lab.forward();
      await h.install(late, 'agent');
      const r = await h.boot.bootstrap(late.name, 'test');
      assert.equal(r.ok, true, r.error?.message);
      const addr = (await h.store.mesh.get(late.name))!.address;
      for (const n of nodes.slice(0, 3)) assert.ok(meshPing(n, addr), `${n.name} cannot reach the late node ${addr}`);
      for (const n of nodes.slice(0, 3)) assert.match(n.exec('cat', ['/etc/wireguard/wg0.conf']), /# node4\n/);
    });

    it('a removed node is gone from every peer list (live and persisted) and its address is freed', async () => {
      const gone = (await h.store.mesh.get('node2'))!;
      await h.registry.remove('node2');
      await h.boot.mesh.sync();
      assert.equal(await h.store.mesh.get('node2'), undefined);
      for (const n of nodes.filter((x) => x.name !== 'node2')) {
        assert.ok(!n.exec('wg', ['show', 'wg0', 'peers']).includes(gone.publicKey!), `${n.name} still has node2 live`);
        assert.ok(
          !n.exec('cat', ['/etc/wireguard/wg0.conf']).includes(gone.publicKey!),
          `${n.name} still has node2 persisted`,
        );
        assert.equal(n.exec('wg', ['show', 'wg0', 'peers']).trim().split('\n').length, 2);
      }
      const events = await h.store.events.list({ host: 'node2' });
      assert.ok(events.some((e) => e.kind === 'mesh.left'));
    });
  },
);

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
