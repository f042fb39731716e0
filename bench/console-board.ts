/**
 * @module bench/console-board
 * The web console at 1,000 hosts (docs/console.md, "At 1,000 hosts"), in Debian's chromium
 * through playwright-core, against the real daemon (buildDaemon, in process):
 *  - first view: a reload of the logged-in console, from navigation start until the board's
 *    1,000 tiles are built (the `ks-first-view` mark, after GET /hosts and the render), and the
 *    board's own render time (`ks-board-render`); then the next frame, i.e. painted.
 *  - update cost: one `dhcp.ack` per host appended to the daemon's store as fast as it takes
 *    them, through the one event feed, until every tile reads DHCP: the browser's time in
 *    board updates (`ks-board-update` measures: count of batches and the sum) and the wall time.
 * Reported, never asserted (performance is not a test).
 *
 *   node --import tsx bench/console-board.ts [--hosts 1000]
 */
import { logIn, openBrowser } from '../test/helpers/browser';
import { startInProcess } from '../test/helpers/daemon';

const HOSTS_ARG = process.argv.indexOf('--hosts');
const N = HOSTS_ARG > 0 ? Number(process.argv[HOSTS_ARG + 1]) : 1000;
const mac = (i: number): string =>
  `52:54:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

interface Entry {
  name: string;
  startTime: number;
  duration: number;
}

void (async () => {
  const d = await startInProcess('ks-bench-console');
  const b = await openBrowser();
  try {
    const rows = Array.from({ length: N }, (_, i) => ({ name: `node${i}`, macs: [mac(i + 1)], profile: 'rocky9' }));
    const imported = await fetch(`${d.base}/api/v1/hosts/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hosts: rows }),
    });
    if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);
    const { page } = b;
    await logIn(page, d.base, d.token);
    await page.reload();
    await page.locator(`[data-host=node${N - 1}]`).waitFor({ timeout: 120_000 });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const first = await page.evaluate<Entry[]>(
      'performance.getEntriesByName("ks-first-view").concat(performance.getEntriesByName("ks-board-render")).map((e) => ({name: e.name, startTime: e.startTime, duration: e.duration}))',
    );
    const mark = first.find((e) => e.name === 'ks-first-view')!;
    const render = first.find((e) => e.name === 'ks-board-render')!;
    console.log(
      `hosts ${N}: first view (navigation start → board built) ${mark.startTime.toFixed(0)} ms; board render ${render.duration.toFixed(1)} ms`,
    );

    const t0 = Date.now();
    for (let i = 0; i < N; i++)
      await d.daemon.store.events.append({ host: `node${i}`, mac: mac(i + 1), kind: 'dhcp.ack', message: 'ack' });
    const appended = Date.now() - t0;
    await page.waitForFunction(
      `[...document.querySelectorAll('.tile .stage')].every((e) => e.textContent === 'DHCP')`,
      undefined,
      { timeout: 120_000, polling: 100 },
    );
    const wall = Date.now() - t0;
    const updates = await page.evaluate<Entry[]>(
      'performance.getEntriesByName("ks-board-update").map((e) => ({name: e.name, startTime: e.startTime, duration: e.duration}))',
    );
    const sum = updates.reduce((a, e) => a + e.duration, 0);
    const max = updates.reduce((a, e) => Math.max(a, e.duration), 0);
    console.log(
      `update: ${N} events (appended in ${appended} ms) → every tile updated after ${wall} ms; ` +
        `${updates.length} batched redraws, ${sum.toFixed(1)} ms in total in the page (${((sum / N) * 1000).toFixed(0)} µs per event, longest batch ${max.toFixed(1)} ms)`,
    );
  } finally {
    await b.close();
    await d.close();
  }
})();
