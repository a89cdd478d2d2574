// The demo SPA in real Chromium: sign-in through the form, an HttpOnly cookie the page cannot
// read, no token anywhere in the page, a cookie-protected image, and sign-out.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, browserAvailable, newContext, signIn, startDemoAndBrowser } from './support/browser.js';
import type { DemoGateway } from './support/gateway.js';

const COOKIE = '__Host-gatehouse';

describe.runIf(browserAvailable())('demo SPA in Chromium', () => {
  let gateway: DemoGateway | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ({ gateway, browser } = await startDemoAndBrowser());
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), gateway?.stop()]);
  });

  /** A fresh context (its own cookie jar) per test, closed even when the test fails. */
  async function withPage(run: (page: Page, context: BrowserContext, gw: DemoGateway) => Promise<void>): Promise<void> {
    if (!gateway || !browser) throw new Error('set-up failed');
    const context = await newContext(browser);
    try {
      await run(await context.newPage(), context, gateway);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gateway.output()}`, { cause: error });
    } finally {
      await context.close();
    }
  }

  it('signs in through the form; the session cookie is HttpOnly and no token reaches the page', async () => {
    await withPage(async (page, context, gw) => {
      await signIn(page, gw);
      await expect.poll(() => page.textContent('#user-name')).toBe('Demo User');
      expect(await page.textContent('#status')).toBe('Signed in.');
      expect(await page.isVisible('#signed-out')).toBe(false);

      await page.reload();
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await expect.poll(() => page.textContent('#user-name')).toBe('Demo User');

      const cookies = await context.cookies(gw.origin);
      const session = cookies.find((c) => c.name === COOKIE);
      expect(session, `cookies: ${JSON.stringify(cookies)}`).toBeDefined();
      expect(session).toMatchObject({ domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' });
      expect(session?.value.length).toBeGreaterThan(20);
      const token = session?.value ?? '';

      const seen = await page.evaluate(() => ({
        cookie: document.cookie,
        local: Object.entries(localStorage),
        session: Object.entries(sessionStorage),
        url: location.href,
        html: document.documentElement.outerHTML,
      }));
      expect(seen.cookie).not.toContain(COOKIE);
      expect(seen.cookie).toBe('');
      expect(seen.local).toEqual([]);
      expect(seen.session).toEqual([]);
      expect(seen.url).toBe(`${gw.origin}/`);
      expect(seen.html).not.toContain(token);
    });
  });

  it('loads the protected image with the cookie; after sign-out the file answers 401', async () => {
    await withPage(async (page, context, gw) => {
      const image = page.waitForResponse((r) => r.url() === `${gw.origin}/files/gatehouse.svg`);
      await signIn(page, gw);
      const imageResponse = await image;
      expect(imageResponse.status()).toBe(200);
      expect(imageResponse.headers()['content-type']).toMatch(/^image\/svg\+xml/);
      expect(imageResponse.headers()['cache-control']).toBe('private, no-store');
      await page.waitForFunction(() => {
        const img = document.getElementById('protected-image') as HTMLImageElement | null;
        return img?.complete === true && img.naturalWidth > 0;
      });
      expect(await page.getAttribute('#protected-image', 'src')).toBe('/files/gatehouse.svg');

      const logout = page.waitForResponse((r) => r.url() === `${gw.origin}/auth/logout` && r.request().method() === 'POST');
      await page.click('#logout');
      expect((await logout).status()).toBe(200);
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      expect(await page.textContent('#status')).toBe('Signed out.');
      expect(await page.getAttribute('#protected-image', 'src')).toBeNull();
      expect((await context.cookies(gw.origin)).map((c) => c.name)).not.toContain(COOKIE);

      const after = await page.evaluate(async () => {
        const response = await fetch('/files/gatehouse.svg', { cache: 'no-store' });
        const img = new Image();
        const loaded = await new Promise<string>((resolve) => {
          img.onload = () => resolve('load');
          img.onerror = () => resolve('error');
          img.src = `/files/gatehouse.svg?fresh=${Date.now()}`;
        });
        return { status: response.status, body: await response.json(), loaded, naturalWidth: img.naturalWidth };
      });
      expect(after).toEqual({ status: 401, body: { error: 'unauthenticated', message: 'Sign-in required.' }, loaded: 'error', naturalWidth: 0 });
    });
  });

  it('renders the signed-in and signed-out views (screenshots in e2e/artifacts/)', async () => {
    await withPage(async (page, _context, gw) => {
      await signIn(page, gw);
      await page.waitForFunction(() => (document.getElementById('protected-image') as HTMLImageElement | null)?.naturalWidth !== 0);
      await page.waitForFunction(() => (document.getElementById('sessions')?.children.length ?? 0) > 0);
      await page.click('#call-api');
      await expect.poll(() => page.textContent('#api-result')).toMatch(/^200\n/);
      await page.screenshot({ path: artifactPath('signed-in.png'), fullPage: true });

      await page.click('#logout');
      await page.locator('#signed-out').waitFor({ state: 'visible' });
      await page.screenshot({ path: artifactPath('signed-out.png'), fullPage: true });

      await page.fill('#username', gw.username);
      await page.fill('#password', 'wrong-password');
      await page.click('#login-button');
      await expect.poll(() => page.textContent('#login-error')).toBe('The username or password is incorrect.');
      await page.screenshot({ path: artifactPath('login-error.png'), fullPage: true });
    });
  });
});
