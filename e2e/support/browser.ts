// Debian's Chromium driven by playwright-core. Never a downloaded browser.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type DemoGateway, type DemoOptions, REPO_ROOT, startDemo } from './gateway.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'e2e/artifacts');

/**
 * Whether the browser suites run. Without Chromium they are skipped locally with a message;
 * in CI (CI=true) a missing browser is a failure, not a silent skip.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') return true; // launch() then fails loudly
  console.warn(`e2e: ${CHROMIUM} not found; skipping real-browser tests (install Debian's "chromium", or run .ci/run)`);
  return false;
}

export interface LaunchOptions {
  /**
   * Keep Chromium's back/forward cache on, as it is for users. Playwright turns it off by default
   * (every Back reloads the page); the back-button scenarios need the real behaviour, where Back
   * shows the page exactly as it was left, signed-in DOM included.
   */
  backForwardCache?: boolean;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: CI must install Debian's "chromium" (see .ci/run)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Both at once; if either fails, the other is stopped again before the error is thrown. */
export async function startDemoAndBrowser(demo: DemoOptions = {}, launch: LaunchOptions = {}): Promise<{ gateway: DemoGateway; browser: Browser }> {
  const [gateway, browser] = await Promise.allSettled([startDemo(demo), launchBrowser(launch)]);
  if (gateway.status === 'fulfilled' && browser.status === 'fulfilled') return { gateway: gateway.value, browser: browser.value };
  await Promise.allSettled([
    gateway.status === 'fulfilled' ? gateway.value.stop() : undefined,
    browser.status === 'fulfilled' ? browser.value.close() : undefined,
  ]);
  throw gateway.status === 'rejected' ? gateway.reason : (browser as PromiseRejectedResult).reason;
}

export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 900 } });
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Opens the SPA and signs in through the real form; resolves once the signed-in view shows. */
export async function signIn(page: Page, gateway: DemoGateway): Promise<void> {
  await page.goto(`${gateway.origin}/`);
  await page.locator('#signed-out').waitFor({ state: 'visible' });
  await page.fill('#username', gateway.username);
  await page.fill('#password', gateway.password);
  const login = page.waitForResponse((r) => r.url() === `${gateway.origin}/auth/login` && r.request().method() === 'POST');
  await page.click('#login-button');
  const response = await login;
  if (response.status() !== 200) throw new Error(`login answered ${response.status()}: ${await response.text()}`);
  await page.locator('#signed-in').waitFor({ state: 'visible' });
}

/** What the victim's own tab sees: /auth/session status and the ids of the user's sessions. */
export async function sessionState(page: Page): Promise<{ session: number; user: string | null; sessions: string[] }> {
  return page.evaluate(async () => {
    const session = await fetch('/auth/session', { headers: { accept: 'application/json' } });
    const body = session.status === 200 ? ((await session.json()) as { user: { name?: string } }) : null;
    const list = await fetch('/auth/sessions', { headers: { accept: 'application/json' } });
    const ids = list.status === 200 ? ((await list.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id).sort() : [];
    return { session: session.status, user: body?.user.name ?? null, sessions: ids };
  });
}
