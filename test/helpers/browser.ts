/**
 * Debian's chromium driven by playwright-core (no browser download: its own builds are not
 * reachable here). Each launch gets a fresh profile directory, removed on close. Outside CI a
 * missing /usr/bin/chromium skips the test with a message (.ci/run installs it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { IN_CI } from './env';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** True (and the test skipped) when chromium is missing outside CI; in CI that fails the test. */
export function skipWithoutChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return false;
  const why = `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium); .ci/run installs it`;
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${why}`);
  t.skip(why);
  return true;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every dialog (alert/confirm/prompt) the page opened: an injected script would show here. */
  dialogs: string[];
  /** Console errors and page errors (a CSP violation is reported as one). */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ks-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const errors: string[] = [];
  const watch = (p: Page): void => {
    p.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  };
  watch(page);
  context.on('page', watch);
  return {
    context,
    page,
    dialogs,
    errors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs in through the console's form with `token`, and waits for the board. */
export async function logIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#logout').waitFor({ state: 'visible' });
}
