/**
 * The fleet board's rollout panel in a real browser (Debian's chromium through playwright-core)
 * against the real daemon (buildDaemon, in process): a real rolling rebuild started through
 * the API, its panel moving from batch 1 to batch 2 to done live from the one event feed with
 * no other API request; then one started from the board's own form behind its confirmation,
 * stopped by a failed host, shown with that host and the reason.
 *
 * Stand-in, named: no machine boots here. The rollout really re-arms each host (src/hosts/
 * reimage.ts); the test then moves it on to `ready` (or `failed`) through the daemon's own
 * registry, as the installer's callbacks and the bootstrap would (test/hosts/lifecycle.test.ts
 * does the same; the PXE labs boot real machines).
 *
 * With KICKSTAND_SCREENSHOTS=DIR the board mid-rollout is saved there as console-rollout.png
 * (docs/console-rollout.png was made with DIR=docs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { logIn, openBrowser, skipWithoutChromium, type Browser } from '../helpers/browser';
import type { HostState } from '../../src/model/host';

const SHOTS = process.env.KICKSTAND_SCREENSHOTS;
const MAC = (n: number): string => `52:54:00:00:44:${n.toString(16).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console: a rolling rebuild on the fleet board', () => {
  let d: InProcessDaemon;
  let b: Browser | null = null;
  const apiRequests: string[] = [];

  /** Waits (at most 20 s) until the daemon has the host in `state`. */
  const waitState = async (name: string, state: HostState): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const cur = (await d.daemon.registry.require(name)).state;
      if (cur === state) return;
      assert.ok(Date.now() < deadline, `${name} is ${cur}, not ${state}, after 20 s`);
      await sleep(50);
    }
  };
  /** The stand-in for the installer and the bootstrap: armed → … → ready. */
  const bootToReady = async (name: string): Promise<void> => {
    await waitState(name, 'armed');
    await d.daemon.registry.transition(name, 'installing', 'stand-in installer: installing');
    await d.daemon.registry.transition(name, 'installed', 'stand-in installer: installed');
    await d.daemon.registry.transition(name, 'bootstrapping', 'stand-in bootstrap started');
    await d.daemon.registry.transition(name, 'ready', 'stand-in bootstrap done');
  };

  before(async () => {
    d = await startInProcess('ks-console-rollout');
    for (const [i, name] of ['r1', 'r2', 'r3'].entries()) {
      await d.daemon.registry.add({ name, macs: [MAC(i + 1)], profile: 'rocky9', role: 'rack' });
      await d.daemon.registry.transition(name, 'installing', 'installer reported installing');
      await d.daemon.registry.transition(name, 'installed', 'installer reported installed');
      await d.daemon.registry.transition(name, 'bootstrapping', 'bootstrap started');
      await d.daemon.registry.transition(name, 'ready', 'bootstrap done');
    }
  });
  after(async () => {
    await b?.close();
    await d.close();
  });

  it('shows a rollout started through the API move from batch 1 to batch 2 to done, live', async (t) => {
    if (skipWithoutChromium(t)) return;
    b = await openBrowser();
    const { page } = b;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/')) apiRequests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await logIn(page, d.base, d.token);
    await page.locator('#rollout-list', { hasText: 'None recorded.' }).waitFor();
    assert.ok(apiRequests.includes('GET /api/v1/rollouts'), 'the rollouts are read once at login');
    const quiet = apiRequests.length;

    const res = await fetch(`${d.base}/api/v1/rollouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'rack', maxUnavailable: 2 }),
    });
    assert.equal(res.status, 202);
    const { id, batches } = (await res.json()) as { id: string; batches: string[][] };
    assert.deepEqual(batches, [['r1', 'r2'], ['r3']]);
    const card = page.locator(`[data-rollout="${id}"]`);

    await card.locator('.r-batch', { hasText: 'batch 1 of 2' }).waitFor();
    assert.equal(await card.locator('.r-role').textContent(), 'rack');
    assert.equal(await card.locator('.r-state').textContent(), 'running');
    assert.equal(await card.locator('.r-done').textContent(), '0 of 3 hosts done');
    await card.locator('.r-hosts li', { hasText: 'r1 armed' }).waitFor();
    await card.locator('.r-hosts li', { hasText: 'r2 armed' }).waitFor();
    assert.equal(await card.locator('.r-hosts li').count(), 2);

    await bootToReady('r1');
    await card.locator('.r-hosts li', { hasText: 'r1 ready' }).waitFor(); // the batch's hosts, live
    assert.equal(await card.locator('.r-batch').textContent(), 'batch 1 of 2', 'r2 is not ready yet');
    await bootToReady('r2');

    await card.locator('.r-batch', { hasText: 'batch 2 of 2' }).waitFor();
    assert.equal(await card.locator('.r-done').textContent(), '2 of 3 hosts done');
    await card.locator('.r-hosts li', { hasText: 'r3 armed' }).waitFor();
    assert.deepEqual(await card.locator('.r-hosts li a').allTextContents(), ['r3']);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'console-rollout.png'), fullPage: false });

    await bootToReady('r3');
    await card.locator('.r-state', { hasText: 'done' }).waitFor();
    assert.equal(await card.locator('.r-done').textContent(), '3 of 3 hosts done');
    assert.equal(await card.locator('.r-batch').textContent(), 'batch 2 of 2');
    assert.equal(await card.locator('.r-hosts').count(), 0, 'a finished rollout lists no batch');

    assert.deepEqual(apiRequests.slice(quiet), [], 'the panel moved without a single API request (no polling)');
    assert.equal(apiRequests.filter((p) => p === 'GET /api/v1/watch').length, 1, 'one EventSource');
    const api = (await (
      await fetch(`${d.base}/api/v1/rollouts`, { headers: { authorization: `Bearer ${d.token}` } })
    ).json()) as { rollouts: Array<{ id: string; state: string; done: string[] }> };
    assert.deepEqual(
      api.rollouts.map((r) => [r.id, r.state, r.done]),
      [[id, 'done', ['r1', 'r2', 'r3']]],
    );
  });

  it('starts one from the board behind a confirmation and shows where it failed', async (t) => {
    if (skipWithoutChromium(t)) return;
    const { page } = b!;
    const quiet = apiRequests.length;
    await page.locator('#rollout-role').fill('rack');
    await page.locator('#rollout-max').fill('1');
    await page.locator('#rollout-start button[type=submit]').click();
    await page.locator('dialog#confirm[open]').waitFor();
    assert.equal(await page.locator('#confirm-text').textContent(), 'Reimage every host with role rack, 1 at a time?');
    await page.keyboard.press('Escape'); // declined: nothing starts
    await page.locator('dialog#confirm[open]').waitFor({ state: 'detached' });
    await sleep(300);
    assert.equal((await d.daemon.registry.require('r1')).state, 'ready');
    assert.deepEqual(apiRequests.slice(quiet), []);

    await page.locator('#rollout-start button[type=submit]').click();
    await page.locator('#confirm-ok').click();
    await page.locator('#rollout-status', { hasText: 'Rollout of role rack started.' }).waitFor();
    assert.deepEqual(apiRequests.slice(quiet), ['POST /api/v1/rollouts'], 'with the CSRF token, like every write');
    const writes = (await d.daemon.store.events.list({ limit: 10_000 })).filter(
      (e) => e.kind === 'api.write' && e.message.startsWith('POST /rollouts'),
    );
    assert.equal(writes.length, 2, "the audit trail records it (and the first test's)");

    await waitState('r1', 'armed');
    await d.daemon.registry.transition('r1', 'installing', 'stand-in installer: installing');
    await d.daemon.registry.transition('r1', 'failed', 'stand-in installer: disk not found');
    const failed = page.locator('.rollout.r-failed');
    await failed.waitFor();
    assert.equal(await failed.locator('.r-state').textContent(), 'failed');
    assert.equal(await failed.locator('.r-failed-host').textContent(), 'r1');
    assert.equal(await failed.locator('.r-reason').textContent(), 'host r1 failed: stand-in installer: disk not found');
    assert.equal(await failed.locator('.r-batch').textContent(), 'batch 1 of 3');
    assert.equal(await failed.locator('.r-done').textContent(), '0 of 3 hosts done');
    assert.equal(await page.locator('.rollout').count(), 1, 'only the last finished rollout is shown');
    assert.equal((await d.daemon.registry.require('r2')).state, 'ready', 'r2 untouched');
    assert.deepEqual(apiRequests.slice(quiet), ['POST /api/v1/rollouts']);
    assert.deepEqual(b!.dialogs, []);
    // Resource errors are the 401 of the session check before login and the favicon's 404.
    assert.deepEqual(
      b!.errors.filter((e) => !e.startsWith('Failed to load resource')),
      [],
      'no script error, no CSP violation',
    );
  });
});
