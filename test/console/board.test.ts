/**
 * The fleet board and host page in a real browser (Debian's chromium through playwright-core)
 * against the real daemon (buildDaemon, in process): tiles moving through the boot stages live
 * from the one event feed while the daemon is fed — by its machine routes (boot.ipxe, a large
 * initrd download with live progress) and by its own registry and store — with no polling;
 * a failed host standing out with its reason; registering a discovered machine; a reimage
 * behind its confirmation, recorded by the audit trail.
 *
 * Stand-ins, named: the loopback address 127.0.0.1 is given a DHCP lease in the daemon's store
 * for b1's MAC (as the DHCP server would write it), so the machine listener knows b1 by that
 * address; the `dhcp.ack` and `host.discovered` events are appended to the daemon's store as
 * its DHCP server would (a real DHCP exchange needs a network namespace; test/dhcp covers it).
 *
 * With KICKSTAND_SCREENSHOTS=DIR the board mid-boot and a host page are saved there as PNG
 * (docs/console-board.png and docs/console-host.png were made with DIR=docs).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { logIn, openBrowser, skipWithoutChromium, type Browser } from '../helpers/browser';

const SHOTS = process.env.KICKSTAND_SCREENSHOTS;
const MAC = (n: number): string => `52:54:00:00:43:${n.toString(16).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console: the fleet board, discovered machines and host actions', () => {
  let d: InProcessDaemon;
  let b: Browser | null = null;
  const apiRequests: string[] = [];

  before(async () => {
    d = await startInProcess('ks-console-board');
    for (const [i, name] of ['b1', 'b2', 'b3', 'b4'].entries())
      await d.daemon.registry.add({ name, macs: [MAC(i + 1)], profile: 'rocky9', role: i === 0 ? 'server' : 'agent' });
    await d.daemon.registry.transition('b2', 'failed', 'install timed out: no installed callback in 60 min');
    await d.daemon.registry.transition('b4', 'installing', 'installer reported installing');
    await d.daemon.registry.transition('b4', 'installed', 'installer reported installed');
    await d.daemon.registry.transition('b4', 'bootstrapping', 'bootstrap started');
    await d.daemon.registry.transition('b4', 'ready', 'bootstrap done');
    mkdirSync(join(d.dir, 'images', 'rocky9'), { recursive: true });
    writeFileSync(join(d.dir, 'images', 'rocky9', 'initrd.img'), Buffer.alloc(24 * 1024 * 1024, 7));
    const now = Date.now();
    await d.daemon.store.leases.put({
      ip: '127.0.0.1',
      mac: MAC(1),
      clientId: null,
      hostname: 'b1',
      state: 'bound',
      expiresAt: now + 3600_000,
      updatedAt: now,
    });
  });
  after(async () => {
    await b?.close();
    await d.close();
  });

  it('updates the board live from the event feed, with one EventSource and no polling', async (t) => {
    if (skipWithoutChromium(t)) return;
    b = await openBrowser();
    const { page } = b;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/')) apiRequests.push(new URL(r.url()).pathname);
    });
    await logIn(page, d.base, d.token);
    await page.locator('[data-host=b4]').waitFor();
    assert.equal(await page.locator('.counts .st-failed strong').textContent(), '1');
    assert.equal(await page.locator('.counts .st-ready strong').textContent(), '1');
    const failed = page.locator('[data-host=b2]');
    assert.match((await failed.getAttribute('class')) ?? '', /\bfailed\b/, 'a failed host stands out');
    assert.equal(await failed.locator('.reason').textContent(), 'install timed out: no installed callback in 60 min');
    const before = apiRequests.length;

    await d.daemon.store.events.append({ host: 'b1', mac: MAC(1), kind: 'dhcp.ack', message: 'ack 198.18.43.101' });
    await page.locator('[data-host=b1] .stage', { hasText: 'DHCP' }).waitFor();
    const chain = await fetch(`${d.machineBase}/boot.ipxe`);
    assert.equal(chain.status, 200);
    await page.locator('[data-host=b1] .stage', { hasText: 'loader' }).waitFor();

    // A large initrd, read slowly from the machine listener: the daemon publishes its progress.
    const res = await fetch(`${d.machineBase}/images/rocky9/initrd.img`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let stop = false;
    let read = 0;
    const slow = (async () => {
      const t0 = Date.now();
      while (!stop && Date.now() - t0 < 60_000) {
        const c = await reader.read();
        if (c.done) break;
        read += c.value.byteLength;
        await sleep(40);
      }
    })();
    try {
      await page.locator('[data-host=b1] .stage', { hasText: /^initrd .* of 24\.0 MiB \(\d+%\)$/ }).waitFor();
      await d.daemon.registry.transition('b3', 'installing', 'installer reported installing');
      await page.locator('[data-host=b3] .stage', { hasText: 'installing' }).waitFor();
      assert.equal(await page.locator('.counts .st-installing strong').textContent(), '1');
      if (SHOTS) await page.screenshot({ path: join(SHOTS, 'console-board.png'), fullPage: true });
    } finally {
      stop = true;
      await slow;
      await reader.cancel().catch(() => undefined);
    }
    assert.ok(read < 24 * 1024 * 1024, 'the screenshot was taken mid-download');
    assert.deepEqual(apiRequests.slice(before), [], 'the board changed without a single API request (no polling)');
    assert.equal(apiRequests.filter((p) => p === '/api/v1/watch').length, 1, 'one EventSource');
  });

  it('registers a discovered machine with its MAC filled in', async (t) => {
    if (skipWithoutChromium(t)) return;
    const { page } = b!;
    await d.daemon.store.events.append({
      host: null,
      mac: MAC(0x99),
      kind: 'host.discovered',
      message: `unregistered machine ${MAC(0x99)} leased 198.18.43.199`,
      data: { ip: '198.18.43.199', arch: 'x86_64', firmware: 'efi' },
    });
    await page.locator('nav a[href="#/discovered"]').click();
    const form = page.locator(`form.register[data-mac="${MAC(0x99)}"]`);
    await form.waitFor();
    assert.equal(await form.locator('input[name=mac]').inputValue(), MAC(0x99));
    assert.equal(await form.locator('input[name=profile]').inputValue(), 'rocky9');
    await form.locator('input[name=name]').fill('d1');
    await form.locator('input[name=role]').fill('server');
    await form.locator('input[name=role]').press('Enter'); // by keyboard
    await page.locator('#register-status', { hasText: 'Registered d1.' }).waitFor();
    const host = await d.daemon.registry.require('d1');
    assert.deepEqual([host.macs, host.profile, host.role], [[MAC(0x99)], 'rocky9', 'server']);
    await page.locator('nav a[href="#/"]').click();
    await page.locator('[data-host=d1]').waitFor();
    const listed = (await (
      await fetch(`${d.base}/api/v1/discovered`, { headers: { authorization: `Bearer ${d.token}` } })
    ).json()) as {
      machines: unknown[];
    };
    assert.deepEqual(listed.machines, [], 'a registered machine is no longer listed as discovered');
  });

  it('reimages a failed host only after its confirmation, and the audit trail records it', async (t) => {
    if (skipWithoutChromium(t)) return;
    const { page } = b!;
    await page.locator('[data-host=b2]').click();
    await page.locator('#act-reimage').waitFor();
    assert.equal(
      await page.locator('#host-reason').textContent(),
      'install timed out: no installed callback in 60 min',
    );
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'console-host.png'), fullPage: false });
    const writes = async () =>
      (await d.daemon.store.events.list({ host: 'b2' })).filter((e) => e.kind === 'api.write').map((e) => e.message);

    await page.locator('#act-reimage').click();
    await page.locator('dialog#confirm[open]').waitFor();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /^Reimage b2\?/);
    await page.keyboard.press('Escape'); // cancel by keyboard
    await page.locator('dialog#confirm[open]').waitFor({ state: 'detached' });
    await sleep(300);
    assert.equal((await d.daemon.registry.require('b2')).state, 'failed', 'cancelled: nothing done');
    assert.deepEqual(await writes(), []);

    await page.locator('#act-reimage').click();
    await page.locator('#confirm-ok').click();
    await page.locator('#action-status', { hasText: 'Reimage: done' }).waitFor();
    assert.equal((await d.daemon.registry.require('b2')).state, 'armed');
    assert.deepEqual(await writes(), ['POST /hosts/b2/reimage by token api-token (admin)']);
    await page.locator('#host-state', { hasText: 'armed' }).waitFor(); // live, from the feed
    await page.locator('#timeline li', { hasText: 'api.write' }).first().waitFor();
    assert.equal(apiRequests.filter((p) => p === '/api/v1/watch').length, 1, 'still one EventSource');
    assert.deepEqual(b!.dialogs, []);
  });
});
