// The example SPA (examples/spa, React + @gatehouse/client) as `gatehouse demo` serves it, in real
// Chromium with its back/forward cache on, as users have it: sign-in, reload, an HttpOnly cookie
// the page cannot read, no token anywhere, protected image and download, sign-out and the Back
// button, two devices. In both session modes: "server" (the cookie is a random token) and "cookie"
// (the cookie is the sealed session itself): in neither may a page read or receive it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, browserAvailable, newContext, signIn, startDemoAndBrowser } from './support/browser.js';
import { type DemoGateway, REPO_ROOT } from './support/gateway.js';
import { recordNetwork } from './support/network.js';
import { expectSessionValue, SESSION_MODES } from '../packages/gatehouse/test/helpers/session-modes.js';

const COOKIE = '__Host-gatehouse';
const REPORT = join(REPO_ROOT, 'packages/gatehouse/demo/files/report.txt');

describe.runIf(browserAvailable())('demo SPA in Chromium', () => {
  describe.each(SESSION_MODES)('session mode %s', (mode) => {
    let gateway: DemoGateway | undefined;
    let browser: Browser | undefined;

    beforeAll(async () => {
      ({ gateway, browser } = await startDemoAndBrowser({ sessionMode: mode }, { backForwardCache: true }));
    });

    afterAll(async () => {
      await Promise.allSettled([browser?.close(), gateway?.stop()]);
    });

    /** A fresh context (its own cookie jar) per test, closed even when the test fails. */
    async function withPage(run: (page: Page, context: BrowserContext, gw: DemoGateway) => Promise<void>): Promise<void> {
      if (!gateway || !browser) throw new Error('set-up failed');
      const context = await newContext(browser);
      const page = await context.newPage();
      try {
        await run(page, context, gateway);
      } catch (error) {
        await page.screenshot({ path: artifactPath(`failure-${Date.now()}.png`), fullPage: true }).catch(() => undefined);
        throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gateway.output()}`, { cause: error });
      } finally {
        await context.close();
      }
    }

    /** What a person sees: the visible text of the page. */
    const visibleText = (page: Page) => page.evaluate(() => document.body.innerText);

    it('signs in through the form and stays signed in on reload; the cookie is HttpOnly and no token reaches the page, its storage, its URL or any response body', async () => {
      await withPage(async (page, context, gw) => {
        const network = await recordNetwork(context, page, gw.origin);
        const console: string[] = [];
        page.on('console', (m) => console.push(m.text()));

        await signIn(page, gw);
        await expect.poll(() => page.textContent('#user-name')).toBe('Demo User');
        expect(await page.textContent('#status')).toBe('Signed in.');
        expect(await page.isVisible('#signed-out')).toBe(false);
        expect(JSON.parse((await page.textContent('#claims')) ?? 'null')).toMatchObject({ username: 'demo', name: 'Demo User', roles: ['user'] });

        // Everything the first document loaded (its devices list, the image) is read before the
        // reload: the browser drops a document's response bodies once the next one loads.
        await page.waitForLoadState('networkidle');
        await network.bodiesFetched();
        await page.reload();
        await page.locator('#signed-in').waitFor({ state: 'visible' });
        await expect.poll(() => page.textContent('#user-name')).toBe('Demo User');
        await page.waitForLoadState('networkidle');
        await network.bodiesFetched();

        const cookies = await context.cookies(gw.origin);
        const session = cookies.find((c) => c.name === COOKIE);
        expect(session, `cookies: ${JSON.stringify(cookies)}`).toBeDefined();
        expect(session).toMatchObject({ domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' });
        // A local sign-in also leaves the OWASP device cookie (the reserved sign-in lane for this
        // browser): as locked down as the session cookie, and no token of any kind.
        expect(cookies.map((c) => c.name).sort()).toEqual([COOKIE, `${COOKIE}-device`]);
        const device = cookies.find((c) => c.name === `${COOKIE}-device`);
        expect(device).toMatchObject({ domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' });
        const token = session?.value ?? '';
        // A 43-character random token (server mode), or the sealed session, a JWE (cookie mode).
        expectSessionValue(mode, token);
        // Cookie mode: no part of the sealed value either (IV, ciphertext, tag), should a page get a piece.
        const pieces = mode === 'cookie' ? token.split('.').filter((p) => p.length >= 16) : [];
        expect(pieces.length).toBe(mode === 'cookie' ? 4 : 0);

        const seen = await page.evaluate(() => ({
          cookie: document.cookie,
          local: Object.entries(localStorage),
          session: Object.entries(sessionStorage),
          url: location.href,
          html: document.documentElement.outerHTML,
        }));
        expect(seen.cookie).toBe('');
        expect(seen.local).toEqual([]);
        expect(seen.session).toEqual([]);
        expect(seen.url).toBe(`${gw.origin}/`);
        expect(seen.html).not.toContain(token);
        for (const piece of pieces) expect(seen.html).not.toContain(piece);

        // Every answer the page received, and every URL it asked for: never the token. (Set-Cookie
        // carries it, but the browser keeps response headers with the HttpOnly cookie from scripts.)
        await expect.poll(() => network.answered().filter((e) => e.status === 200 && e.body === undefined).map((e) => e.url)).toEqual([]);
        const exchanges = network.answered();
        expect(exchanges.map((e) => new URL(e.url ?? '').pathname)).toEqual(expect.arrayContaining(['/', '/auth/login', '/auth/session', '/auth/sessions']));
        const deviceToken = device?.value ?? '';
        expect(deviceToken.length).toBeGreaterThan(20);
        expect(seen.html).not.toContain(deviceToken);
        for (const e of exchanges) {
          expect(e.url, e.url).not.toContain(token);
          expect(e.body ?? '', e.url).not.toContain(token);
          expect(e.url, e.url).not.toContain(deviceToken);
          expect(e.body ?? '', e.url).not.toContain(deviceToken);
          for (const piece of pieces) {
            expect(e.url, e.url).not.toContain(piece);
            expect(e.body ?? '', e.url).not.toContain(piece);
          }
        }
        // The CSP (script-src 'self', style-src 'self', no inline) holds for the built SPA.
        expect(console.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
      });
    });

    it('loads the protected image and download when signed in, and neither once signed out', async () => {
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

        const download = page.waitForEvent('download');
        await page.click('#protected-download');
        const file = await (await download).path();
        expect(await readFile(file, 'utf8')).toBe(await readFile(REPORT, 'utf8'));

        const before = (await context.cookies(gw.origin)).filter((c) => c.name.startsWith(COOKIE) && c.name !== `${COOKIE}-device`);
        expect(before.map((c) => c.name)).toEqual([COOKIE]);
        const logout = page.waitForResponse((r) => r.url() === `${gw.origin}/auth/logout` && r.request().method() === 'POST');
        await page.click('#logout');
        expect((await logout).status()).toBe(200);
        await page.locator('#signed-out').waitFor({ state: 'visible' });
        expect(await page.textContent('#status')).toBe('Signed out.');
        expect(await page.locator('#protected-image, #protected-download').count()).toBe(0);
        expect((await context.cookies(gw.origin)).map((c) => c.name)).not.toContain(COOKIE);

        // A copy of the cookie taken before sign-out, put back (a stolen cookie replayed): the session
        // is over on the server (the record gone; in cookie mode, the id on the revocation list).
        await context.addCookies(before);
        const replayed = await page.evaluate(async () => {
          const response = await fetch('/auth/session', { cache: 'no-store' });
          return { status: response.status, body: await response.json() };
        });
        expect(replayed).toEqual({ status: 401, body: { error: 'unauthenticated', message: 'Sign-in required.' } });
        // The gateway expired the replayed cookie in that answer.
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

        // The download link itself, signed out: a navigation, so the gateway sends the browser to
        // the sign-in page with returnTo; signing in there goes on to the file.
        const navigation = await page.goto(`${gw.origin}/files/report.txt`);
        expect(page.url()).toBe(`${gw.origin}/?returnTo=%2Ffiles%2Freport.txt`);
        expect(navigation?.request().redirectedFrom()?.url()).toBe(`${gw.origin}/files/report.txt`);
        await page.locator('#signed-out').waitFor({ state: 'visible' });
        expect(await visibleText(page)).not.toContain('This file is protected');
        await page.fill('#username', gw.username);
        await page.fill('#password', gw.password);
        await page.click('#login-button');
        await page.waitForURL(`${gw.origin}/files/report.txt`);
        expect(await visibleText(page)).toContain('This file is protected by the Gatehouse session cookie.');
      });
    });

    it('sign-out shows the signed-out view, and Back shows nothing private (back/forward cache on)', async () => {
      await withPage(async (page, _context, gw) => {
        // Records, at the moment a page comes back from the back/forward cache, what it shows.
        await page.addInitScript(() => {
          addEventListener('pageshow', (event) => {
            if (!event.persisted) return;
            (window as unknown as { restored: unknown }).restored = {
              visibility: getComputedStyle(document.body).visibility,
              signedInDom: document.getElementById('signed-in') !== null,
            };
          });
        });
        await signIn(page, gw);
        await page.goto(`${gw.origin}/files/report.txt`);
        expect(await visibleText(page)).toContain('This file is protected');
        await page.goto(`${gw.origin}/account`);
        await page.locator('#signed-in').waitFor({ state: 'visible' });
        await page.click('#logout');
        await page.locator('#signed-out').waitFor({ state: 'visible' });
        expect(await visibleText(page)).not.toContain('Demo User');

        // Back to the protected file: it was no-store, so the browser asks again, without a cookie.
        await page.goBack({ waitUntil: 'commit' });
        await page.waitForURL(`${gw.origin}/?returnTo=%2Ffiles%2Freport.txt`);
        await page.locator('#signed-out').waitFor({ state: 'visible' });
        expect(await visibleText(page)).not.toContain('This file is protected');

        // Back to the SPA as it was when signed in: restored from the cache with its old DOM, hidden
        // until the gateway said the session is gone, then the sign-in page.
        await page.goBack({ waitUntil: 'commit' });
        // A page restored from the cache fires no load event: wait for the URL only.
        await page.waitForURL(`${gw.origin}/`, { waitUntil: 'commit' });
        await page.locator('#signed-out').waitFor({ state: 'visible' });
        const restored = await page.evaluate(() => (window as unknown as { restored?: unknown }).restored);
        expect(restored, 'the page was not restored from the back/forward cache: this test checks nothing').toEqual({ visibility: 'hidden', signedInDom: true });
        const html = await page.evaluate(() => document.documentElement.outerHTML);
        expect(html).not.toContain('Demo User');
        expect(html).not.toContain('"username": "demo"');
        expect(await page.locator('#signed-in, #claims').count()).toBe(0);
        expect(await page.textContent('#status')).toBe('Signed out.');
        expect(await page.evaluate(() => getComputedStyle(document.body).visibility)).toBe('visible');
      });
    });

    it('two browsers are two devices: one revokes the other, which is signed out on its next request', async () => {
      if (!gateway || !browser) throw new Error('set-up failed');
      const gw = gateway;
      const phoneContext = await newContext(browser);
      const laptopContext = await newContext(browser);
      try {
        const phone = await phoneContext.newPage();
        await signIn(phone, gw);
        const phoneNetwork = await recordNetwork(phoneContext, phone, gw.origin);
        const laptop = await laptopContext.newPage();
        await signIn(laptop, gw);

        const phoneId = await phone.locator('#sessions li.current').getAttribute('data-session-id');
        const laptopId = await laptop.locator('#sessions li.current').getAttribute('data-session-id');
        expect(phoneId).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(laptopId).not.toBe(phoneId);
        // (Other tests' sessions of the demo user are in the list too: rows are found by id.)
        const phoneRow = laptop.locator(`#sessions li.other[data-session-id="${phoneId}"]`);
        await phoneRow.locator('button.revoke-device').click();
        await expect.poll(() => laptop.textContent('#devices-message')).toBe('Device signed out.');
        await expect.poll(() => phoneRow.count()).toBe(0);
        expect(await laptop.locator(`#sessions li.current[data-session-id="${laptopId}"]`).count()).toBe(1);

        // Nothing tells the phone yet; its next request does, and the SDK shows the sign-in page.
        expect(await phone.textContent('#status')).toBe('Signed in.');
        await phone.click('#call-api');
        await phone.locator('#signed-out').waitFor({ state: 'visible' });
        expect(await phone.textContent('#signed-out-reason')).toBe('You were signed out: this session was ended (from another device, or by the server).');
        expect(await visibleText(phone)).not.toContain('Demo User');
        // A JSON 401 and the SDK's check, no redirect (which a fetch would follow into a CORS error).
        expect(phoneNetwork.summary()).toEqual(['GET /api/demo/hello → 401', 'GET /auth/session → 401']);

        // "Sign out everywhere else" from the laptop ends the phone's new session, and every other.
        await signIn(phone, gw);
        const newPhoneId = await phone.locator('#sessions li.current').getAttribute('data-session-id');
        await laptop.reload();
        await laptop.locator(`#sessions li.other[data-session-id="${newPhoneId}"]`).waitFor();
        await laptop.click('#revoke-others');
        await expect.poll(() => laptop.textContent('#devices-message')).toBe('Every other device is signed out.');
        await expect.poll(() => laptop.locator('#sessions li').count()).toBe(1);
        await phone.reload();
        await phone.locator('#signed-out').waitFor({ state: 'visible' });
        await laptop.reload();
        await laptop.locator('#signed-in').waitFor({ state: 'visible' });
        expect(await laptop.locator('#sessions li.current').getAttribute('data-session-id')).toBe(laptopId);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gw.output()}`, { cause: error });
      } finally {
        await Promise.allSettled([phoneContext.close(), laptopContext.close()]);
      }
    });

    // The views are the same pages in both modes: the screenshots are taken once, in server mode.
    it.skipIf(mode === 'cookie')('renders the signed-in and signed-out views (screenshots in e2e/artifacts/)', async () => {
      await withPage(async (page, _context, gw) => {
        await signIn(page, gw);
        await page.waitForFunction(() => (document.getElementById('protected-image') as HTMLImageElement | null)?.naturalWidth !== 0);
        await page.waitForFunction(() => (document.getElementById('sessions')?.children.length ?? 0) > 0);
        await page.click('#call-api');
        await expect.poll(() => page.textContent('#api-result')).toMatch(/^200\n/);
        expect(JSON.parse((await page.textContent('#api-result'))?.replace(/^200\n/, '') ?? 'null')).toMatchObject({ message: 'Hello, Demo User!' });
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
});
