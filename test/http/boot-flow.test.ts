/**
 * The install flow over real HTTP with real curl as the machine: per-host iPXE script,
 * one-time kickstart bound to the host's address, %pre/%post callbacks run from the rendered
 * kickstart with sh + curl, one-shot netboot, and every token refusal case.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from '../helpers/env';
import { curl, eventsOf, installConfig, sectionBody, startHarness, type Harness } from '../install/harness';

const run = promisify(execFile);
const MAC = '52:54:00:00:00:01';
const MAC_HYP = MAC.replace(/:/g, '-');

function tokenIn(text: string): string {
  const m = /\/ks\/([A-Za-z0-9_-]{43})/.exec(text);
  assert.ok(m, `no kickstart URL with a token in:\n${text}`);
  return m[1]!;
}

async function kinds(h: Harness, host: string | null = null): Promise<string[]> {
  const ev = await h.store.events.list(host === null ? {} : { host });
  return ev.map((e) => e.kind);
}

describe('install flow over HTTP (real curl)', () => {
  let h: Harness;
  let scratch: string;

  before(async () => {
    h = await startHarness();
    scratch = mkdtempSync(join(tmpdir(), 'ks-flow-'));
  });
  after(async () => {
    await h?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('boot.ipxe chains to the per-host script by MAC, with DHCP retry', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(`${h.base}/boot.ipxe`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^#!ipxe\n/);
    assert.ok(r.body.includes(`chain --replace --autofree ${h.base}/ipxe/\${netX/mac:hexhyp}`));
    assert.match(r.body, /\ndhcp && goto start \|\| goto retry\n/);
  });

  it('full install: script → kickstart → %pre → %post, then local boot only', async (t) => {
    if (skipUnless(t, { binaries: ['curl', 'sh', 'ssh-keygen'] })) return;
    await h.registry.add({ name: 'node1', macs: [MAC], profile: 'rocky9', ipv4: '127.0.0.1' });
    assert.equal((await h.registry.require('node1')).state, 'armed');

    const script = await curl(`${h.base}/ipxe/${MAC_HYP}`, { from: '127.0.0.1' });
    assert.equal(script.status, 200);
    assert.match(
      script.body,
      /^kernel --name vmlinuz .*\/images\/rocky9\/vmlinuz .*inst\.ks=.*\/ks\/[A-Za-z0-9_-]{43} inst\.repo=.*\/images\/rocky9\/tree /m,
    );
    const token = tokenIn(script.body);
    assert.equal((await h.store.tokens.liveFor('node1'))?.token, token);

    // Another machine on the network cannot fetch node1's kickstart with the token.
    const stolen = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.3' });
    assert.equal(stolen.status, 403);
    assert.ok(!stolen.body.includes('rootpw'));

    const ks = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.1' });
    assert.equal(ks.status, 200, ks.body);
    assert.match(ks.body, /^network --device=52:54:00:00:00:01 --bootproto=static --ip=127\.0\.0\.1 /m);
    assert.match(ks.body, /^rootpw --iscrypted '\$6\$kickstand\$/m);

    // One-shot: the kickstart was fetched, so a second network boot goes to the local disk.
    const again = await curl(`${h.base}/ipxe/${MAC_HYP}`, { from: '127.0.0.1' });
    assert.equal(again.status, 200);
    assert.match(again.body, /sanboot --no-describe --drive 0x80/);
    assert.ok(!again.body.includes('/ks/'));

    // The callback %pre exactly as rendered, with sh and curl (the install-disk %pre and the
    // node %post are run against a fake sysfs and stub tools in test/render/shipped-kickstarts.test.ts).
    // (async: the server runs in this process and must keep answering)
    await run('sh', ['-c', sectionBody(ks.body, '%pre', 'kickstand_cb=')], { timeout: 60_000 });
    assert.equal((await h.registry.require('node1')).state, 'installing');

    // %post exactly as rendered, in a scratch root: generates host keys and reports them.
    await run('sh', ['-c', sectionBody(ks.body, '%post', 'kickstand_cb=')], {
      timeout: 60_000,
      env: { ...process.env, KICKSTAND_SYSROOT: scratch },
    });
    const node = await h.registry.require('node1');
    assert.equal(node.state, 'installed');
    assert.equal(node.netboot, false);
    const ed = readFileSync(join(scratch, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
    assert.ok(
      node.sshHostKeys.some((k) => k.startsWith(ed)),
      'the ed25519 host key is pinned',
    );
    const tok = await h.store.tokens.get(token);
    assert.ok(tok?.revokedAt !== null, 'token died with the installed callback');

    // Replay of the installed callback: refused, nothing changes.
    const replay = await curl(`${h.base}/cb/${token}/installed`, {
      from: '127.0.0.1',
      dataFile: join(scratch, 'etc/ssh/ssh_host_ed25519_key.pub'),
    });
    assert.equal(replay.status, 410);
    const after = await h.registry.require('node1');
    assert.equal(after.version, node.version);
    // The dead token no longer fetches the kickstart.
    assert.equal((await curl(`${h.base}/ks/${token}`, { from: '127.0.0.1' })).status, 410);
    // Not armed: the per-host script boots the local disk.
    assert.match(
      (await curl(`${h.base}/ipxe/${MAC_HYP}`, { from: '127.0.0.1' })).body,
      /not armed for install \(state installed, netboot off\)/,
    );

    const k = await kinds(h, 'node1');
    for (const want of [
      'host.created',
      'http.ipxe',
      'kickstart.refused',
      'kickstart.fetched',
      'install.installing',
      'install.installed',
      'install.callback_refused',
    ]) {
      assert.ok(k.includes(want), `timeline has ${want}: ${k.join(', ')}`);
    }
    const states = (await h.store.events.list({ host: 'node1' }))
      .filter((e) => e.kind === 'host.state')
      .map((e) => e.data.to);
    assert.deepEqual(states, ['installing', 'installed']);
  });

  it("wrong host: host B presents host A's token from its own address → 403", async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'node-a', macs: ['52:54:00:00:00:0a'], profile: 'rocky9', ipv4: '127.0.0.10' });
    await h.registry.add({ name: 'node-b', macs: ['52:54:00:00:00:0b'], profile: 'rocky9', ipv4: '127.0.0.11' });
    const tokenA = (await h.store.tokens.liveFor('node-a'))!.token;
    const r = await curl(`${h.base}/ks/${tokenA}`, { from: '127.0.0.11' });
    assert.equal(r.status, 403);
    const cb = await curl(`${h.base}/cb/${tokenA}/installing`, { from: '127.0.0.11', data: 'installing' });
    assert.equal(cb.status, 403);
    assert.equal((await h.registry.require('node-a')).state, 'armed');
    const refused = (await h.store.events.list({ host: 'node-a' })).filter(
      (e) => e.kind === 'kickstart.refused' || e.kind === 'install.callback_refused',
    );
    assert.equal(refused.length, 2);
    assert.ok(
      refused.every((e) => !JSON.stringify(e).includes(tokenA)),
      'events never carry the token',
    );
  });

  it('expired token → 410 and an event', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'node-exp', macs: ['52:54:00:00:00:0e'], profile: 'rocky9', ipv4: '127.0.0.12' });
    const now = Date.now();
    const t0 = await h.store.tokens.issue({
      token: 'E'.repeat(43),
      host: 'node-exp',
      issuedAt: now - 7200_000,
      expiresAt: now - 1000,
    });
    const r = await curl(`${h.base}/ks/${t0.token}`, { from: '127.0.0.12' });
    assert.equal(r.status, 410);
    const ev = (await h.store.events.list({ host: 'node-exp' })).filter((e) => e.kind === 'kickstart.refused');
    assert.equal(ev.at(-1)?.data.reason, 'token expired');
    // The machine's next script fetch gets a fresh token (it is still armed and never fetched).
    const s = await curl(`${h.base}/ipxe/52-54-00-00-00-0e`, { from: '127.0.0.12' });
    assert.notEqual(tokenIn(s.body), t0.token);
  });

  it('unknown, malformed and forged tokens → 403, recorded without the token', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const forged = 'A'.repeat(43);
    assert.equal((await curl(`${h.base}/ks/${forged}`)).status, 403);
    assert.equal((await curl(`${h.base}/ks/not-a-token`)).status, 403);
    assert.equal((await curl(`${h.base}/cb/${forged}/installed`, { data: 'ssh-ed25519 AAAA' })).status, 403);
    const ev = (await h.store.events.list({})).filter(
      (e) => e.host === null && (e.kind === 'kickstart.refused' || e.kind === 'install.callback_refused'),
    );
    assert.ok(ev.length >= 3);
    assert.ok(ev.every((e) => !JSON.stringify(e).includes(forged)));
  });

  it('lease binding: a pool host is bound to its bound lease address', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const mac = '52:54:00:00:00:1e';
    await h.registry.add({ name: 'node-lease', macs: [mac], profile: 'rocky9' });
    await h.store.leases.put({
      ip: '127.0.0.120',
      mac,
      clientId: null,
      hostname: null,
      state: 'bound',
      expiresAt: Date.now() + 3600_000,
      updatedAt: Date.now(),
    });
    assert.equal(
      (await curl(`${h.base}/ipxe/${mac}`, { from: '127.0.0.121' })).status,
      403,
      'install script only to the lease address',
    );
    const s = await curl(`${h.base}/ipxe/${mac}`, { from: '127.0.0.120' });
    const token = tokenIn(s.body);
    assert.equal((await curl(`${h.base}/ks/${token}`, { from: '127.0.0.121' })).status, 403);
    const ks = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.120' });
    assert.equal(ks.status, 200);
    assert.match(ks.body, /^network --device=52:54:00:00:00:1e --bootproto=dhcp /m);
  });

  it('no known address (proxyDHCP): bound to the address that fetched the install script', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const mac = '52:54:00:00:00:2e';
    await h.registry.add({ name: 'node-proxy', macs: [mac], profile: 'rocky9' });
    const token = tokenIn((await curl(`${h.base}/ipxe/${mac}`, { from: '127.0.0.130' })).body);
    assert.equal((await curl(`${h.base}/ks/${token}`, { from: '127.0.0.131' })).status, 403);
    assert.equal((await curl(`${h.base}/ks/${token}`, { from: '127.0.0.130' })).status, 200);
  });

  it('concurrent duplicate installed callbacks: exactly one transition', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'node-race', macs: ['52:54:00:00:00:3e'], profile: 'rocky9', ipv4: '127.0.0.13' });
    const token = (await h.store.tokens.liveFor('node-race'))!.token;
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@node-race';
    const results = await Promise.all(
      Array.from({ length: 20 }, () => curl(`${h.base}/cb/${token}/installed`, { from: '127.0.0.13', data: key })),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    assert.ok(results.every((r) => r.status === 200 || r.status === 409 || r.status === 410));
    const states = (await h.store.events.list({ host: 'node-race' })).filter(
      (e) => e.kind === 'host.state' && e.data.to === 'installed',
    );
    assert.equal(states.length, 1);
  });

  it('installed callback with no valid ed25519 key is refused and changes nothing', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'node-badkey', macs: ['52:54:00:00:00:4e'], profile: 'rocky9', ipv4: '127.0.0.14' });
    const token = (await h.store.tokens.liveFor('node-badkey'))!.token;
    for (const body of [
      'ssh-ed25519 AAAAnotakey',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GK\n%post',
      'x'.repeat(70 * 1024),
    ]) {
      const r = await curl(`${h.base}/cb/${token}/installed`, { from: '127.0.0.14', data: body });
      assert.equal(r.status, 400, r.body);
    }
    const host = await h.registry.require('node-badkey');
    assert.equal(host.state, 'armed');
    assert.deepEqual(host.sshHostKeys, []);
  });

  it('unknown MAC (discover policy): recorded as discovered, then local boot', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(`${h.base}/ipxe/52-54-00-99-99-99`, { from: '127.0.0.150' });
    assert.equal(r.status, 200);
    assert.match(r.body, /is not registered/);
    assert.match(r.body, /\nexit\n/);
    assert.ok(!r.body.includes('kernel'));
    const ev = (await h.store.events.list({})).filter(
      (e) => e.kind === 'host.discovered' && e.mac === '52:54:00:99:99:99',
    );
    assert.equal(ev.length, 1);
  });

  it("boot.ipxe fetched from a known host's address is on that host's timeline", async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    assert.equal((await curl(`${h.base}/boot.ipxe`, { from: '127.0.0.1' })).status, 200);
    const ev = await eventsOf(h.store, 'node1', (e) => e.kind === 'http.ipxe' && e.data.script === 'chain');
    assert.equal(ev.length, 1);
  });
});

describe('unknown MAC with unknownHosts: ignore', () => {
  it('still boots locally, records nothing as discovered', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const h = await startHarness({ config: installConfig({ dhcp: { mode: 'off', unknownHosts: 'ignore' } }) });
    try {
      const r = await curl(`${h.base}/ipxe/52:54:00:99:99:98`);
      assert.equal(r.status, 200);
      assert.match(r.body, /sanboot --no-describe --drive 0x80/);
      assert.equal((await h.store.events.list({})).filter((e) => e.kind === 'host.discovered').length, 0);
      assert.equal((await curl(`${h.base}/ipxe/not-a-mac`)).status, 400);
    } finally {
      await h.close();
    }
  });
});
