/**
 * Kickstarts prepared at arm (install/kickstarts.ts) over real HTTP with real curl: the fetch
 * serves the prepared text, the token stays one-time, re-arming and every input change
 * (host vars, template files, live config) render again, and start-up prepares hosts armed
 * before it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from '../helpers/env';
import { curl, installConfig, REPO, startHarness, type Harness } from './harness';

const live = async (h: Harness, host: string): Promise<string> => {
  const t = await h.store.tokens.liveFor(host);
  assert.ok(t, `${host} has a live token`);
  return t.token;
};

describe('prepared kickstarts', () => {
  let h: Harness;
  let dir: string;

  before(async () => {
    // A private copy of the shipped templates, so one test can edit a file.
    dir = mkdtempSync(join(tmpdir(), 'ks-prepared-'));
    cpSync(join(REPO, 'kickstarts'), dir, { recursive: true });
    h = await startHarness({ config: installConfig({ kickstartsDir: dir }) });
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('arming renders the kickstart; the fetch serves that text, byte for byte a fresh render', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const before = h.flow.kickstarts.stats();
    await h.registry.add({ name: 'pk1', macs: ['52:54:00:00:10:01'], profile: 'rocky9', ipv4: '127.0.0.11' });
    const token = await live(h, 'pk1');
    assert.equal(h.flow.kickstarts.stats().renders, before.renders + 1, 'rendered once, at arm');
    const ks = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.11' });
    assert.equal(ks.status, 200, ks.body);
    const fresh = await h.flow.renderer.render(await h.registry.require('pk1'), token);
    assert.equal(ks.body, fresh);
    const after = h.flow.kickstarts.stats();
    assert.equal(after.renders, before.renders + 1, 'the fetch did not render');
    assert.equal(after.hits, before.hits + 1);
    const tok = await h.store.tokens.get(token);
    assert.ok(tok?.fetchedAt !== null, 'the fetch is recorded on the token');
  });

  it('the token stays one-time: after re-arming, the old URL is 410 and the new one serves a re-rendered kickstart', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'pk2', macs: ['52:54:00:00:10:02'], profile: 'rocky9', ipv4: '127.0.0.12' });
    const old = await live(h, 'pk2');
    await h.registry.update('pk2', { netboot: false });
    await h.registry.update('pk2', { netboot: true });
    const fresh = await live(h, 'pk2');
    assert.notEqual(fresh, old);
    const gone = await curl(`${h.base}/ks/${old}`, { from: '127.0.0.12' });
    assert.equal(gone.status, 410);
    assert.ok(!gone.body.includes('rootpw'), 'no kickstart body for a dead token');
    const renders = h.flow.kickstarts.stats().renders;
    const ks = await curl(`${h.base}/ks/${fresh}`, { from: '127.0.0.12' });
    assert.equal(ks.status, 200, ks.body);
    assert.ok(ks.body.includes(fresh), 'the kickstart carries the new token');
    assert.ok(!ks.body.includes(old), 'and never the old one');
    assert.equal(h.flow.kickstarts.stats().renders, renders, 're-arm had already rendered it');
    // A refused request never gets the prepared text either.
    const other = await curl(`${h.base}/ks/${fresh}`, { from: '127.0.0.99' });
    assert.equal(other.status, 403);
    assert.ok(!other.body.includes('rootpw'));
  });

  it('a changed host var is in the next fetch (the prepared text is keyed on the host version)', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'pk3', macs: ['52:54:00:00:10:03'], profile: 'rocky9', ipv4: '127.0.0.13' });
    await h.registry.update('pk3', { vars: { timezone: 'Europe/Paris' } });
    const ks = await curl(`${h.base}/ks/${await live(h, 'pk3')}`, { from: '127.0.0.13' });
    assert.equal(ks.status, 200, ks.body);
    assert.match(ks.body, /Europe\/Paris/);
  });

  it('a template edit on disk is in the next fetch (templates are re-scanned once a second)', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'pk4', macs: ['52:54:00:00:10:04'], profile: 'rocky9', ipv4: '127.0.0.14' });
    const token = await live(h, 'pk4');
    const file = join(dir, 'rocky9.ks.hbs');
    const gen = h.flow.templates.generation();
    writeFileSync(file, readFileSync(file, 'utf8') + '# edited-after-arm\n');
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    // The re-scan runs by itself (a timer, off the request path): wait for it, bounded.
    for (const end = Date.now() + 10_000; h.flow.templates.generation() === gen;) {
      assert.ok(Date.now() < end, 'the edit was not picked up within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const ks = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.14' });
    assert.equal(ks.status, 200, ks.body);
    assert.match(ks.body, /# edited-after-arm\n$/);
  });

  it('a live config change (global vars on reload) is in the next fetch', async () => {
    await h.registry.add({ name: 'pk5', macs: ['52:54:00:00:10:05'], profile: 'rocky9', ipv4: '127.0.0.15' });
    const host = await h.registry.require('pk5');
    const token = await live(h, 'pk5');
    const k1 = await h.flow.renderer.inputsKey(host, token);
    assert.equal(await h.flow.renderer.inputsKey(host, token), k1, 'stable while nothing changes');
    h.setConfig({ ...h.config, vars: { ...h.config.vars, keyboard: 'fr' } });
    assert.notEqual(await h.flow.renderer.inputsKey(host, token), k1);
    assert.match(await h.flow.kickstarts.get(host, token), /^keyboard --vckeymap='fr'$/m);
  });

  it('start-up prepares every armed or installing host with a live token', async () => {
    const h2 = await startHarness();
    try {
      // Written straight to the store, as a previous daemon left them: no arm hook ran here.
      await h2.store.hosts.createMany([
        { name: 'pk6', macs: ['52:54:00:00:10:06'], profile: 'rocky9', role: 'agent', netboot: true, state: 'armed' },
        { name: 'pk7', macs: ['52:54:00:00:10:07'], profile: 'rocky9', role: 'agent', state: 'registered' },
      ]);
      await h2.flow.tokens.issue('pk6');
      await h2.flow.tokens.issue('pk7');
      assert.equal(h2.flow.kickstarts.stats().size, 0);
      await h2.flow.prepare.start();
      assert.equal(h2.flow.kickstarts.stats().size, 1, 'only the armed host');
    } finally {
      await h2.close();
    }
  });
});
