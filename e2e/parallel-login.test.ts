// Two tabs of one browser signing in at once, in real Chromium: both logins are started before
// either comes back from the provider. With one shared transaction cookie the second start
// overwrote the first and both failed (oauth2-proxy #611/#817/#3258); with one cookie per login
// (named after its state) both complete, and no transaction cookie is left behind.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, newContext, startDemoAndBrowser } from './support/browser.js';
import type { DemoGateway } from './support/gateway.js';

describe.runIf(browserAvailable())('parallel federated sign-in in two tabs', () => {
  let gateway: DemoGateway | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ({ gateway, browser } = await startDemoAndBrowser());
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), gateway?.stop()]);
  });

  it('RFC 9700 §4.7.1 (state per login, bound to the browser): two tabs start a login each before either finishes; both end signed in', async () => {
    if (!gateway || !browser) throw new Error('set-up failed');
    const gw = gateway;
    const context = await newContext(browser);
    // The provider's development login page imports a web font: this machine has no internet.
    await context.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());
    const tabs: { page: Page; returnTo: string }[] = [];
    try {
      for (const name of ['one', 'two']) {
        const page = await context.newPage();
        const returnTo = `/account?tab=${name}`;
        await page.goto(`${gw.origin}/auth/login?provider=demo&returnTo=${encodeURIComponent(returnTo)}`);
        await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
        tabs.push({ page, returnTo });
      }
      // Both logins are in flight: one transaction cookie each.
      expect((await context.cookies(gw.origin)).filter((c) => c.name.startsWith('__Host-gatehouse-tx-'))).toHaveLength(2);

      // The first tab finishes first (the one a shared cookie would have lost), then the second.
      for (const { page, returnTo } of tabs) {
        await page.fill('input[name="login"]', 'grace');
        await page.fill('input[name="password"]', 'anything');
        await page.click('button[type="submit"]');
        await page.waitForURL(`${gw.origin}${returnTo}`);
        await page.locator('#signed-in').waitFor({ state: 'visible' });
        await expect.poll(() => page.textContent('#user-id')).toBe('demo:grace');
      }
      const cookies = await context.cookies(gw.origin);
      expect(cookies.map((c) => c.name)).toEqual(['__Host-gatehouse']);
    } finally {
      await context.close();
    }
  });
});
