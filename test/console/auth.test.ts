/**
 * The web console in a real browser (Debian's chromium through playwright-core) against the
 * real daemon (buildDaemon, in process): login into an HttpOnly SameSite=Strict cookie and
 * logout; a write without the session's CSRF token refused; a host var holding a script shown
 * literally and never run; a read token sees no actions and the server refuses its writes;
 * the Content-Security-Policy and caching headers (docs/console.md).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { logIn, openBrowser, skipWithoutChromium, type Browser } from '../helpers/browser';

const XSS = '<script>alert(1)</script>';
const XSS_IMG = '<img src=x onerror=alert(2)>';

describe('console: login, CSRF, escaping, scopes', () => {
  let d: InProcessDaemon;
  let readToken = '';

  before(async () => {
    d = await startInProcess('ks-console-auth');
    readToken = d.daemon.tokens.create('viewer', 'read', 'test').token;
    await d.daemon.registry.add({ name: 'n1', macs: ['52:54:00:00:42:01'], profile: 'rocky9', vars: { note: XSS } });
    await d.daemon.store.events.append({ host: 'n1', kind: 'dhcp.ack', message: `lease for ${XSS_IMG}` });
    await d.daemon.store.events.append({
      host: null,
      mac: '52:54:00:00:42:99',
      kind: 'host.discovered',
      message: `unregistered machine ${XSS}`,
      data: { ip: '198.18.42.99', arch: XSS_IMG, firmware: 'efi' },
    });
  });
  after(() => d.close());

  const withBrowser = async (t: { skip(m: string): void }, fn: (b: Browser) => Promise<void>): Promise<void> => {
    if (skipWithoutChromium(t as never)) return;
    const b = await openBrowser();
    try {
      await fn(b);
      assert.deepEqual(b.dialogs, [], 'no dialog opened');
      assert.deepEqual(
        b.errors.filter((e) => /Content Security Policy|Refused/i.test(e)),
        [],
        'the console itself breaks no CSP rule',
      );
    } finally {
      await b.close();
    }
  };

  it('logs in with a token into an HttpOnly SameSite=Strict cookie, and logs out', async (t) => {
    await withBrowser(t, async ({ page, context }) => {
      await page.goto(`${d.base}/console/`);
      await page.locator('#token').fill('not-a-token');
      await page.locator('#login button[type=submit]').click();
      await page.locator('#login-error', { hasText: 'wrong API token' }).waitFor();
      assert.equal((await context.cookies()).length, 0, 'no cookie for a wrong token');

      await logIn(page, d.base, d.token);
      assert.equal(await page.locator('#who').textContent(), 'api-token (admin)');
      const [cookie] = await context.cookies();
      assert.equal(cookie?.name, 'ks_session');
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, 'Strict');
      assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read the session');
      const sid = cookie.value;
      const asSession = (path: string) => fetch(d.base + path, { headers: { cookie: `ks_session=${sid}` } });
      assert.equal((await asSession('/api/v1/hosts')).status, 200, 'the cookie stands for the token');

      await page.locator('#logout').click();
      await page.locator('#login').waitFor();
      assert.equal((await context.cookies()).length, 0, 'the cookie is cleared');
      assert.equal((await asSession('/api/v1/hosts')).status, 401, 'the session is closed on the server');
      assert.equal((await asSession('/console/session')).status, 401);
    });
  });

  it('refuses a write without the CSRF token (403), from the browser and from outside', async (t) => {
    await withBrowser(t, async ({ page, context }) => {
      await logIn(page, d.base, d.token);
      const sid = (await context.cookies())[0]!.value;
      const post = async (csrf: string | null) => {
        const headers: Record<string, string> = { cookie: `ks_session=${sid}`, 'content-type': 'application/json' };
        if (csrf !== null) headers['x-csrf-token'] = csrf;
        const res = await fetch(`${d.base}/api/v1/hosts/n1`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ role: 'server' }),
        });
        return { status: res.status, body: (await res.json()) as { code: string } };
      };
      const none = await post(null);
      assert.equal(none.status, 403);
      assert.equal(none.body.code, 'KS_FORBIDDEN');
      assert.equal((await post('A'.repeat(43))).status, 403, 'a wrong CSRF token');
      // From the page itself, with the cookie the browser sends by itself:
      const inPage = await page.evaluate(async () => {
        const r = await fetch('/api/v1/hosts/n1', {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ role: 'server' }),
        });
        return r.status;
      });
      assert.equal(inPage, 403);
      assert.equal((await d.daemon.registry.require('n1')).role, 'agent', 'nothing was written');
      const logoutNoCsrf = await fetch(`${d.base}/console/logout`, {
        method: 'POST',
        headers: { cookie: `ks_session=${sid}` },
      });
      assert.equal(logoutNoCsrf.status, 403, 'logout needs the CSRF token too');
      // The same write with the session's token goes through (so the refusals above are the CSRF check):
      const csrf = (
        (await (await fetch(`${d.base}/console/session`, { headers: { cookie: `ks_session=${sid}` } })).json()) as {
          csrf: string;
        }
      ).csrf;
      assert.equal((await post(csrf)).status, 200);
      assert.equal((await d.daemon.registry.require('n1')).role, 'server');
      const audit = (await d.daemon.store.events.list({ host: 'n1' })).filter((e) => e.kind === 'api.write');
      assert.match(
        audit.at(-1)!.message,
        /^PATCH \/hosts\/n1 by token api-token \(admin\)$/,
        'the audit names the token',
      );
    });
  });

  it('renders a host var holding <script> as text on the board, the host page and the discovered list', async (t) => {
    await withBrowser(t, async ({ page }) => {
      await logIn(page, d.base, d.token);
      await page.locator('[data-host=n1]').waitFor();
      await page.goto(`${d.base}/console/#/host/n1`);
      await page.locator('#timeline li').first().waitFor();
      const text = await page.locator('main').innerText();
      assert.ok(text.includes(XSS), 'the var is shown literally');
      assert.ok(text.includes(XSS_IMG), 'the event message is shown literally');
      assert.equal(await page.locator('main script, main img').count(), 0, 'no element was made from data');
      await page.goto(`${d.base}/console/#/discovered`);
      await page.locator('form.register').first().waitFor();
      const listed = await page.locator('main').innerText();
      assert.ok(listed.includes(XSS_IMG), 'discovered data shown literally');
      assert.equal(await page.locator('main script, main img').count(), 0);
      await page.waitForTimeout(500); // a dialog, had one been injected, would have opened by now
    });
  });

  it('a read token sees no actions and the server refuses its writes', async (t) => {
    await withBrowser(t, async ({ page }) => {
      await logIn(page, d.base, readToken);
      assert.equal(await page.locator('#who').textContent(), 'viewer (read)');
      await page.goto(`${d.base}/console/#/host/n1`);
      await page.locator('#readonly-note').waitFor();
      for (const id of ['#act-arm', '#act-reimage', '#act-power', '#act-bootstrap'])
        assert.equal(await page.locator(id).count(), 0, `${id} absent for a read token`);
      await page.goto(`${d.base}/console/#/discovered`);
      await page.locator('table.discovered').waitFor();
      assert.equal(await page.locator('form.register').count(), 0, 'no register form for a read token');
      // Even with the session's own CSRF token, the server refuses: the token's scope is read.
      const status = await page.evaluate(async () => {
        const s = (await (await fetch('/console/session')).json()) as { csrf: string };
        const r = await fetch('/api/v1/hosts/n1/reimage', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
          body: '{}',
        });
        return r.status;
      });
      assert.equal(status, 403);
      assert.notEqual((await d.daemon.registry.require('n1')).state, 'failed');
    });
  });

  it('serves the console with a strict CSP, no inline script, and revalidating cache headers', async () => {
    const page = await fetch(`${d.base}/console/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline handler');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    const js = await fetch(`${d.base}/console/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    assert.equal(js.headers.get('cache-control'), 'no-cache');
    const etag = js.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${d.base}/console/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${d.base}/console/nope.js`)).status, 404);
    assert.equal((await fetch(`${d.base}/console/..%2fpackage.json`)).status, 404);
    assert.equal((await fetch(`${d.machineBase}/console/`)).status, 404, 'not on the machine listener');
  });
});
