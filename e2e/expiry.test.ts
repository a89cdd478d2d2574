// Session expiry in real Chromium, with `gatehouse demo` started with short timeouts: the SPA
// warns before the absolute expiry and shows its sign-in page when the session ends — from the
// SDK's own timer (absolute) or its check with the gateway (idle) — never through a redirect
// that a fetch would follow into a CORS error.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, browserAvailable, newContext, signIn, startDemoAndBrowser } from './support/browser.js';
import type { DemoGateway, DemoOptions } from './support/gateway.js';
import { type NetworkLog, recordNetwork } from './support/network.js';

const EXPIRED = 'Your session expired. Please sign in again.';

/** One demo gateway with the given timeouts and one signed-in page, for each describe block. */
function withShortSessions(timeouts: DemoOptions) {
  const env: { gateway?: DemoGateway; browser?: Browser } = {};
  beforeAll(async () => {
    Object.assign(env, await startDemoAndBrowser(timeouts));
  });
  afterAll(async () => {
    await Promise.allSettled([env.browser?.close(), env.gateway?.stop()]);
  });
  return async (run: (page: Page, network: NetworkLog, gw: DemoGateway) => Promise<void>) => {
    const { gateway, browser } = env;
    if (!gateway || !browser) throw new Error('set-up failed');
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await run(page, await recordNetwork(context, page, gateway.origin), gateway);
    } catch (error) {
      await page.screenshot({ path: artifactPath(`failure-expiry-${Date.now()}.png`), fullPage: true }).catch(() => undefined);
      throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gateway.output()}`, { cause: error });
    } finally {
      await context.close();
    }
  };
}

/** After the session ended: no redirect reached the page, no CORS failure, and the API answers a plain JSON 401. */
async function expectCleanSignOut(page: Page, network: NetworkLog): Promise<void> {
  expect(network.answered().filter((e) => (e.status ?? 0) >= 300 && (e.status ?? 0) < 400).map((e) => e.url)).toEqual([]);
  expect(network.all().filter((e) => /cors/i.test(e.error ?? '')).map((e) => `${e.url}: ${e.error}`)).toEqual([]);
  const api = await page.evaluate(async () => {
    const response = await fetch('/api/demo/hello', { headers: { accept: 'application/json' } });
    return { status: response.status, type: response.type, redirected: response.redirected, body: await response.json() };
  });
  expect(api).toEqual({ status: 401, type: 'basic', redirected: false, body: { error: 'unauthenticated', message: 'Sign-in required.' } });
}

describe.runIf(browserAvailable())('absolute session expiry (--absolute-timeout 8s)', () => {
  const withPage = withShortSessions({ absoluteTimeout: '8s' });

  it('shows the expiry notice, then the sign-in page when the session ends, without a request', async () => {
    await withPage(async (page, network, gw) => {
      await signIn(page, gw);
      const signedInAt = network.answered().length;
      // 8 s is inside the SDK's 60 s warning window: the notice shows at once.
      await page.locator('#expiry-notice').waitFor({ state: 'visible' });
      expect(await page.textContent('#expiry-notice')).toMatch(/^Your session ends at .+\. Save your work: you will need to sign in again\.$/);
      await page.screenshot({ path: artifactPath('session-expiring.png'), fullPage: true });

      await page.locator('#signed-out').waitFor({ state: 'visible', timeout: 30_000 });
      expect(await page.textContent('#signed-out-reason')).toBe(EXPIRED);
      expect(await page.locator('#signed-in, #expiry-notice').count()).toBe(0);
      await page.screenshot({ path: artifactPath('session-expired.png'), fullPage: true });
      // The SDK's timer ended it: nothing asked the gateway about the session after sign-in.
      const after = network.answered().slice(signedInAt).map((e) => `${e.method} ${new URL(e.url ?? '').pathname}`);
      expect(after).not.toContain('GET /auth/session');
      await expectCleanSignOut(page, network);
      expect(await page.evaluate(async () => (await fetch('/auth/session')).status)).toBe(401);
    });
  });
});

describe.runIf(browserAvailable())('idle session expiry (--idle-timeout 4s)', () => {
  const withPage = withShortSessions({ idleTimeout: '4s' });

  it('an idle session ends: the SDK checks with the gateway after the idle expiry and shows the sign-in page', async () => {
    await withPage(async (page, network, gw) => {
      await signIn(page, gw);
      // The absolute expiry (12 h) is far away: no notice.
      expect(await page.locator('#expiry-notice').count()).toBe(0);
      await page.locator('#signed-out').waitFor({ state: 'visible', timeout: 30_000 });
      expect(await page.textContent('#signed-out-reason')).toBe(EXPIRED);
      // The gateway's JSON 401 to the SDK's check is what signed the page out.
      expect(network.summary()).toContain('GET /auth/session → 401');
      await expectCleanSignOut(page, network);
    });
  });
});
