// Federated sign-in in real Chromium: the demo SPA signs in through the demo OpenID provider and
// back, and no token (access, refresh or ID: all JWTs or opaque strings the provider issued)
// appears anywhere the page can see.
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, browserAvailable, newContext, startDemoAndBrowser } from './support/browser.js';
import type { DemoGateway } from './support/gateway.js';

describe.runIf(browserAvailable())('federated sign-in through the demo provider', () => {
  let gateway: DemoGateway | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ({ gateway, browser } = await startDemoAndBrowser());
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), gateway?.stop()]);
  });

  it('signs in at the provider, comes back to the page it started from, and the page never sees a token', async () => {
    if (!gateway || !browser) throw new Error('set-up failed');
    const gw = gateway;
    const context = await newContext(browser);
    // The provider's development login page imports a web font: this machine has no internet.
    await context.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());
    const page: Page = await context.newPage();
    const bodies: string[] = [];
    const urls: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) urls.push(frame.url());
    });
    page.on('response', (response: Response) => {
      if (response.url().startsWith(gw.origin) && response.request().resourceType() !== 'image') {
        response.text().then((t) => bodies.push(t), () => undefined);
      }
    });
    try {
      // A deep link of the SPA (served index.html by the gateway's SPA fallback): the user starts
      // here, and the SDK's federated login asks to come back here.
      const start = `${gw.origin}/account?tab=profile`;
      await page.goto(start);
      await page.locator('button.provider-login').waitFor({ state: 'visible' });
      expect(await page.textContent('button.provider-login')).toBe('Demo OpenID Provider');
      await page.click('button.provider-login');
      await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
      await page.fill('input[name="login"]', 'grace');
      await page.fill('input[name="password"]', 'anything');
      await page.click('button[type="submit"]');
      await page.waitForURL(start);
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await expect.poll(() => page.textContent('#user-name')).toBe('Grace Hopper');
      expect(await page.textContent('#user-id')).toBe('demo:grace');
      await page.click('#call-api');
      await expect.poll(() => page.textContent('#api-result')).toContain('Hello, Grace Hopper!');
      await page.screenshot({ path: artifactPath('federated-signed-in.png'), fullPage: true });

      const seen = await page.evaluate(() => ({
        cookie: document.cookie,
        storage: JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)]),
        url: location.href,
        html: document.documentElement.outerHTML,
      }));
      const jwt = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
      expect(seen.cookie).toBe('');
      expect(seen.storage).toBe('[[],[]]');
      expect(seen.url).toBe(start);
      expect(seen.html).not.toMatch(jwt);
      for (const body of bodies) expect(body).not.toMatch(jwt);
      // The provider's redirect carried a one-time code through the callback, never a token;
      // the callback answered 303 to the clean returnTo.
      expect(urls.some((u) => u.includes('/auth/callback/demo?') && /[?&]code=/.test(u) && !/access_token|id_token/.test(u)) || urls.at(-1) === start).toBe(true);
      for (const u of urls) expect(u).not.toMatch(/access_token|id_token|refresh_token/);
      const cookies = await context.cookies(gw.origin);
      expect(cookies.map((c) => c.name).sort()).toEqual(['__Host-gatehouse']);
      expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });

      // Sign-out ends the gateway session and follows the provider's end-session page back.
      await page.click('#logout');
      await page.waitForURL(/127\.0\.0\.1:\d+\/session\/end/);
      await page.click('button[name="logout"][value="yes"], button[autofocus]');
      await page.waitForURL(new RegExp(`^${gw.origin.replace(/[.:/]/g, '\\$&')}/`));
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      const after = await page.evaluate(async () => (await fetch('/auth/session')).status);
      expect(after).toBe(401);
      // Logout included (its answer names the provider's end-session URL, which the browser then
      // visited): no token in any answer from the gateway, nor in any URL the page went to.
      expect(urls.some((u) => /\/session\/end/.test(u))).toBe(true);
      for (const u of urls) expect(u).not.toMatch(jwt);
      for (const u of urls) expect(u).not.toMatch(/access_token|id_token|refresh_token/);
      for (const body of bodies) expect(body).not.toMatch(jwt);
    } catch (error) {
      await page.screenshot({ path: artifactPath('federated-failure.png'), fullPage: true }).catch(() => undefined);
      throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gw.output()}`, { cause: error });
    } finally {
      await context.close();
    }
  });
});
