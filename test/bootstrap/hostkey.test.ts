/**
 * Host-key pinning and failure isolation against real sshd nodes (reliability.md S01/S02/G20):
 * a node presenting a key other than the one pinned by its %post callback gets nothing — no
 * command runs on it, no secret leaves Kickstand (canary join token) — and the host is `failed`
 * with an event that says why. A node that dies mid-plan fails alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { missing } from '../helpers/env';
import { harness, type Harness } from './harness';
import type { SshdNode } from '../helpers/sshd-node';
import { TOKEN_SETTING } from '../../src/bootstrap/k3s';

const need = { root: true, binaries: ['sshd', 'ssh-keygen', 'wireguard-go', 'wg', 'ip', 'nsenter', 'unshare'] };
const why = missing(need);
const CANARY = 'c4a9a7f0canary0join0token0d00d0e5e1b2c3d4e5f60718293a4b5c6d7e8f9';

describe('bootstrap: host-key pinning and failure isolation', { skip: why ?? false, timeout: 100_000 }, () => {
  let h: Harness;
  let nodes: SshdNode[];

  before(async () => {
    h = await harness();
    await h.store.settings.set(TOKEN_SETTING, CANARY);
    nodes = [1, 2, 3, 4].map((i) => h.lab.addNode(i));
    await h.lab.forward();
  });
  after(async () => {
    await h?.close();
  });

  it('wrong host key (impostor at the host address): nothing is sent, host failed, event explains', async () => {
    const [node, impostorKeyOwner] = [nodes[0]!, nodes[1]!];
    // The callback pinned node2's key for node1's address: node1's sshd is the "impostor".
    await h.install(node, 'server', impostorKeyOwner.hostKey);
    const r = await h.boot.bootstrap(node.name, 'test');
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'KS_HOST_KEY_MISMATCH');
    const host = await h.registry.require(node.name);
    assert.equal(host.state, 'failed');
    assert.match(host.stateReason ?? '', /host key mismatch/);
    const events = await h.store.events.list({ host: node.name });
    const failed = events.find((e) => e.kind === 'bootstrap.failed');
    assert.ok(failed, 'a bootstrap.failed event');
    assert.match(
      failed.message,
      /host key mismatch .* presented ssh-ed25519 SHA256:.*pinned ssh-ed25519 SHA256:.*nothing was sent/,
    );
    // exactly one attempt: a mismatch is never retried
    assert.equal(events.filter((e) => e.kind === 'bootstrap.step' && /attempt/.test(e.message)).length, 1);
    // nothing ran on the node: no authentication happened, no key, no k3s invocation
    assert.doesNotMatch(node.sshdLog(), /Accepted publickey/);
    assert.equal(existsSync(join(node.dir, 'etc-wireguard', 'wg0.key')), false);
    assert.equal(node.exec('sh', ['-c', 'test -e /run/k3s-recorder && echo yes || echo no']).trim(), 'no');
    // the canary secret is nowhere Kickstand writes
    assert.ok(!h.logText().includes(CANARY), 'canary in the log');
    assert.ok(!JSON.stringify(await h.store.events.list({ limit: 10000 })).includes(CANARY), 'canary in an event');
    assert.equal(await h.store.mesh.get(node.name).then((m) => m?.publicKey ?? null), null);
  });

  it('is never silently re-trusted: a second run still refuses the same key', async () => {
    const r = await h.boot.bootstrap(nodes[0]!.name, 'test: retry');
    assert.equal(r.error?.code, 'KS_HOST_KEY_MISMATCH');
    assert.deepEqual((await h.registry.require(nodes[0]!.name)).sshHostKeys, [nodes[1]!.hostKey]);
    assert.doesNotMatch(nodes[0]!.sshdLog(), /Accepted publickey/);
  });

  it('no pinned key at all: refuses to connect (no trust on first use)', async () => {
    const n = nodes[1]!;
    await h.registry.add({
      name: n.name,
      macs: ['52:54:00:00:01:02'],
      profile: 'rocky9',
      role: 'agent',
      ipv4: n.address,
      netboot: true,
    });
    await h.registry.transition(n.name, 'installed', 'test: %post without keys', { netboot: false });
    const r = await h.boot.bootstrap(n.name, 'test');
    assert.equal(r.error?.code, 'KS_HOST_KEY_MISMATCH');
    assert.match(r.error?.message ?? '', /no SSH host key is pinned/);
    assert.equal((await h.registry.require(n.name)).state, 'failed');
    assert.doesNotMatch(n.sshdLog(), /Accepted publickey/);
  });

  it('a node that dies mid-plan fails alone; the others become ready', async () => {
    const [a, b] = [nodes[2]!, nodes[3]!];
    await h.install(a, 'server');
    await h.install(b, 'agent');
    b.exec('touch', ['/run/k3s-recorder-hang']); // the k3s stand-in on b sleeps: b dies during k3s.join
    const pa = h.boot.bootstrap(a.name, 'test');
    const pb = h.boot.bootstrap(b.name, 'test');
    let seen = false;
    let bEnded: Awaited<typeof pb> | undefined;
    void pb.then((r) => (bEnded = r));
    for (let i = 0; i < 600 && !seen && !bEnded; i++) {
      seen = b.exec('sh', ['-c', 'test -e /run/k3s-recorder/argv.1 && echo y || echo n']).trim() === 'y';
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      seen,
      `node b reached the k3s step${bEnded ? ` (its bootstrap ended first: ${bEnded.error?.code} ${bEnded.error?.message})` : ''}`,
    );
    b.kill();
    const [ra, rb] = await Promise.all([pa, pb]);
    assert.equal(ra.ok, true, ra.error?.message);
    assert.equal((await h.registry.require(a.name)).state, 'ready');
    assert.match(
      a.sshdLog(),
      /Accepted publickey for root/,
      'the sshd log shows accepted logins (so its absence above means something)',
    );
    assert.equal(rb.ok, false);
    assert.equal((await h.registry.require(b.name)).state, 'failed');
    const ev = (await h.store.events.list({ host: b.name })).find((e) => e.kind === 'bootstrap.failed');
    assert.match(ev?.message ?? '', /k3s\.join/);
    assert.ok(!h.logText().includes(CANARY), 'canary in the log');
    assert.ok(!JSON.stringify(await h.store.events.list({ limit: 10000 })).includes(CANARY), 'canary in an event');
  });

  it('a tarpit (TCP accepted, no SSH banner) fails within the handshake bound and does not hold up a healthy host', async () => {
    const tarpitAddr = h.lab.subnetCidr.replace('.0/24', '.99');
    const held: Socket[] = [];
    const tarpit = createServer((c) => void held.push(c)).listen(h.lab.sockPath(tarpitAddr));
    const saved = h.config.ssh.readyTimeoutMs;
    h.config.ssh.readyTimeoutMs = 2000;
    try {
      await h.registry.add({
        name: 'tarpit',
        macs: ['52:54:00:00:09:99'],
        profile: 'rocky9',
        role: 'agent',
        ipv4: tarpitAddr,
        netboot: true,
      });
      await h.registry.transition('tarpit', 'installed', 'test: %post', {
        sshHostKeys: [nodes[0]!.hostKey],
        netboot: false,
      });
      const healthy = nodes[0]!;
      await h.registry.remove(healthy.name);
      await h.install(healthy, 'agent');
      const t0 = Date.now();
      const [rt, rh] = await Promise.all([h.boot.bootstrap('tarpit', 'test'), h.boot.bootstrap(healthy.name, 'test')]);
      assert.equal(rh.ok, true, rh.error?.message);
      assert.equal(rt.ok, false);
      assert.match(rt.error?.message ?? '', /cannot reach tarpit .*[Tt]imed out/);
      assert.equal((await h.registry.require('tarpit')).state, 'failed');
      // bounded: (retries + 1) handshakes of readyTimeout plus the retry delay, far below the step timeout
      assert.ok(Date.now() - t0 < 20_000, 'the tarpit was abandoned within its bounds');
      assert.ok(held.length >= 1, 'the tarpit really accepted connections');
    } finally {
      h.config.ssh.readyTimeoutMs = saved;
      for (const c of held) c.destroy();
      tarpit.close();
    }
  });

  it('bounded parallelism: with parallelism 1, the second host starts only after the first is done', async () => {
    const saved = h.config.parallelism;
    h.config.parallelism = 1;
    try {
      const [x, y] = [nodes[2]!.name, nodes[0]!.name];
      const since = (await h.store.events.list({ limit: 1 })).at(-1)?.id ?? 0;
      const [rx, ry] = await Promise.all([h.boot.bootstrap(x, 'test'), h.boot.bootstrap(y, 'test')]);
      assert.equal(rx.ok && ry.ok, true, `${rx.error?.message} ${ry.error?.message}`);
      const ev = (await h.store.events.list({ after: since, limit: 10000 })).filter((e) =>
        e.kind.startsWith('bootstrap.'),
      );
      const doneX = ev.find((e) => e.host === x && e.kind === 'bootstrap.done')!;
      const firstY = ev.find((e) => e.host === y)!;
      assert.ok(doneX && firstY && firstY.id > doneX.id, 'the second plan ran after the first finished');
    } finally {
      h.config.parallelism = saved;
    }
  });
});
