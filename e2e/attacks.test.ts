// A signed-in user opens a hostile page in the same browser (same cookie jar). Whatever that page
// does — auto-submitted forms, fetch() with credentials, <img>, <iframe> — the user stays signed
// in, the user's sessions stay exactly as they were, and the page reads nothing.
//
// Two attackers:
//  - cross-site: http://127.0.0.1:<port>. SameSite=Strict already keeps the cookie at home.
//  - same-site:  https://localhost:<port>, another ORIGIN on the SAME site (the stand-in for a
//    sibling subdomain). The browser DOES send the session cookie with its requests, so what stops
//    them is the gateway itself: Origin / Sec-Fetch-Site checks, X-CSRF, no CORS, CORP, framing
//    refusal. (Cookies are not isolated by port: the browser also sends the gateway's cookie to
//    this attacker's own server. That is why a gateway's host name must not be shared with other
//    services on other ports — a deployment rule, not something a browser test can fix.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Attacker, type FormField, formUrl, navigateUrl, startAttacker } from './support/attacker.js';
import { browserAvailable, newContext, sessionState, signIn, startDemoAndBrowser } from './support/browser.js';
import type { DemoGateway } from './support/gateway.js';
import { type NetworkLog, recordNetwork, replayedError } from './support/network.js';

const COOKIE = '__Host-gatehouse';
type Kind = 'cross-site' | 'same-site';

const FETCH_ATTEMPTS = [
  'logout with X-CSRF (preflighted)',
  'logout, simple request (text/plain)',
  'logout, no-cors urlencoded',
  'revoke other sessions (DELETE, preflighted)',
  'read /auth/session',
  'read /auth/sessions',
  'read /api/demo/hello',
  'read /files/report.txt',
];

describe.runIf(browserAvailable())('cross-origin attacks on a signed-in user change nothing', () => {
  let gateway: DemoGateway | undefined;
  let browser: Browser | undefined;
  let victimContext: BrowserContext | undefined;
  let otherDevice: BrowserContext | undefined;
  let victim: Page | undefined;
  const attackers: Partial<Record<Kind, Attacker>> = {};
  let baseline: Awaited<ReturnType<typeof sessionState>> | undefined;
  let cookieValue = '';
  let userId = '';

  beforeAll(async () => {
    ({ gateway, browser } = await startDemoAndBrowser());
    // The same-site attacker serves https://localhost with the gateway's own demo certificate.
    const tls = {
      cert: await readFile(join(gateway.dataDir, 'tls/localhost.crt'), 'utf8'),
      key: await readFile(join(gateway.dataDir, 'tls/localhost.key'), 'utf8'),
    };
    attackers['cross-site'] = await startAttacker(gateway.origin);
    attackers['same-site'] = await startAttacker(gateway.origin, tls);

    // A second device first, so that a "sign out everywhere else" would show in the list.
    otherDevice = await newContext(browser);
    await signIn(await otherDevice.newPage(), gateway);
    victimContext = await newContext(browser);
    victim = await victimContext.newPage();
    await signIn(victim, gateway);

    userId = (await victim.textContent('#user-id')) ?? '';
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);
  });

  // Each attack is judged against the state just before it, so one failure does not cascade
  // into every later test (a successful attack is undone by signing in again).
  beforeEach(async () => {
    const { gw, context, victim } = setup();
    let state = await sessionState(victim);
    if (state.session !== 200) {
      await signIn(victim, gw);
      state = await sessionState(victim);
    }
    if (state.sessions.length < 2 && otherDevice) {
      await signIn(await otherDevice.newPage(), gw);
      state = await sessionState(victim);
    }
    expect(state).toMatchObject({ session: 200, user: 'Demo User' });
    expect(state.sessions.length).toBeGreaterThanOrEqual(2);
    baseline = state;
    cookieValue = (await context.cookies(gw.origin)).find((c) => c.name === COOKIE)?.value ?? '';
    expect(cookieValue).not.toBe('');
  });

  afterAll(async () => {
    await Promise.allSettled(Object.values(attackers).map((a) => a.close()));
    await Promise.allSettled([browser?.close(), gateway?.stop()]);
  });

  function setup() {
    if (!gateway || !victimContext || !victim) throw new Error('set-up failed (see beforeAll)');
    return { gw: gateway, context: victimContext, victim };
  }

  /** In the victim's own tab: still signed in, with exactly the sessions and the cookie it had. */
  async function expectNothingChanged(): Promise<void> {
    const { gw, context, victim } = setup();
    expect(baseline).toBeDefined();
    expect(await sessionState(victim)).toEqual(baseline);
    expect((await context.cookies(gw.origin)).find((c) => c.name === COOKIE)?.value).toBe(cookieValue);
    await victim.reload();
    await victim.locator('#signed-in').waitFor({ state: 'visible' });
    await expect.poll(() => victim.textContent('#user-name')).toBe('Demo User');
  }

  /** The attacker's page learnt nothing about the user. */
  async function expectNothingLeaked(page: Page): Promise<void> {
    const text = await page.evaluate(() => document.documentElement.outerHTML);
    for (const secret of ['Demo User', userId, cookieValue, '"username"']) expect(text).not.toContain(secret);
  }

  /** Opens an attacker page in the victim's browser context (the same cookie jar). */
  async function attackPage(run: (page: Page, network: NetworkLog) => Promise<void>): Promise<void> {
    const { gw, context } = setup();
    const page = await context.newPage();
    try {
      await run(page, await recordNetwork(context, page, gw.origin));
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- gateway output ---\n${gw.output()}`, { cause: error });
    } finally {
      await page.close();
    }
  }

  async function resultOf<T>(page: Page): Promise<T> {
    await page.waitForFunction(() => document.title === 'done');
    return JSON.parse((await page.textContent('#out')) ?? 'null') as T;
  }

  /**
   * The attacker signs in at the provider as themselves and keeps the authorization response
   * (code + state) instead of letting it reach the gateway: the URL they would plant. Driven hop by
   * hop over HTTP (with the cookies of a browser context of their own), so the code stays unused.
   */
  async function attackerAuthorizationResponse(gw: DemoGateway): Promise<string> {
    if (!browser) throw new Error('set-up failed (see beforeAll)');
    const own = await newContext(browser);
    try {
      let url = `${gw.origin}/auth/login?provider=demo`;
      let form: { action: string; fields: Record<string, string> } | undefined;
      for (let hop = 0; hop < 12; hop++) {
        if (url.startsWith(`${gw.origin}/auth/callback/`)) return url;
        const response = form
          ? await own.request.post(form.action, { form: form.fields, maxRedirects: 0 })
          : await own.request.get(url, { maxRedirects: 0 });
        form = undefined;
        const location = response.headers().location;
        if (location) {
          url = new URL(location, url).toString();
          continue;
        }
        // An interaction page of the provider: submit its form (the login, or a consent).
        const html = await response.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
        if (!action) throw new Error(`no form at ${url} (${response.status()}): ${html.slice(0, 300)}`);
        const fields = Object.fromEntries([...html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (/name="login"/.test(html)) Object.assign(fields, { login: 'mallory', password: 'anything' });
        form = { action: new URL(action.replace(/&amp;/g, '&'), url).toString(), fields: fields as Record<string, string> };
      }
      throw new Error(`no authorization response after 12 hops (at ${url})`);
    } finally {
      await own.close();
    }
  }

  describe.each<Kind>(['cross-site', 'same-site'])('from a %s page', (kind) => {
    const attacker = () => {
      const a = attackers[kind];
      if (!a) throw new Error('set-up failed (see beforeAll)');
      return a;
    };
    /** The browser sends the cookie to a same-site origin only; either way the gateway must refuse. */
    const cookieExpected = kind === 'same-site';

    const forms: { path: string; enctype: string; fields: (password: string) => FormField[] }[] = [];
    for (const enctype of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
      forms.push({ path: '/auth/logout', enctype, fields: () => [{ name: 'a', value: '1' }] });
      // Login CSRF (signing the victim into an account the attacker knows) must fail as well;
      // were it accepted, the victim's session would be replaced and the session list change.
      forms.push({
        path: '/auth/login',
        enctype,
        fields: (password) =>
          enctype === 'text/plain'
            ? [{ name: `{"username":"demo","password":"${password}","x":"`, value: '"}' }]
            : [
                { name: 'username', value: 'demo' },
                { name: 'password', value: password },
              ],
      });
    }

    // The API behind the gateway (its CSRF gate runs before the proxy: the upstream never sees a
    // forged write) and the password change (a forged one would lock the user out of their account).
    for (const enctype of ['application/x-www-form-urlencoded', 'text/plain']) {
      forms.push({ path: '/api/demo/hello', enctype, fields: () => [{ name: 'a', value: '1' }] });
      forms.push({
        path: '/auth/password',
        enctype,
        fields: (password) => [
          { name: 'currentPassword', value: password },
          { name: 'newPassword', value: 'attacker-chosen-password-1' },
        ],
      });
    }

    it.each(forms)('OWASP CSRF Prevention Cheat Sheet / ASVS 5.0 V3.5.1: auto-submitted form POST $path ($enctype) is refused with csrf_rejected', async ({ path, enctype, fields }) => {
      const { gw } = setup();
      await attackPage(async (page) => {
        const target = `${gw.origin}${path}`;
        const submitted = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
        await page.goto(formUrl(attacker(), path, enctype, fields(gw.password)), { waitUntil: 'commit' });
        const response = await submitted;
        const sent = await response.request().allHeaders();
        expect(sent.origin).toBe(attacker().origin);
        expect(sent['content-type']?.split(';')[0]).toBe(enctype);
        expect((sent.cookie ?? '').includes(`${COOKIE}=`)).toBe(cookieExpected);
        expect(response.status()).toBe(403);
        expect(await response.json()).toEqual({ error: 'csrf_rejected', message: expect.any(String) });
        expect((await response.allHeaders())['set-cookie']).toBeUndefined();
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.5.2 / V3.4.2 (no CORS granted): fetch() with credentials can neither change nor read anything', async () => {
      await attackPage(async (page, network) => {
        await page.goto(`${attacker().origin}/fetch`);
        const results = await resultOf<unknown[]>(page);
        // Every attempt is a network error to the page: no status, no body, no opaque success.
        expect(results).toEqual(FETCH_ATTEMPTS.map((name) => ({ name, outcome: 'error', error: 'TypeError: Failed to fetch' })));
        await expectNothingLeaked(page);
        // What reached the gateway: preflights that granted nothing (so the X-CSRF POST and the
        // DELETE were never sent), and 403 for every request that went through without one.
        await expect
          .poll(() => network.summary())
          .toEqual([
            'preflight POST /auth/logout',
            'POST /auth/logout → 403',
            'POST /auth/logout → 403',
            'preflight DELETE /auth/sessions',
            'GET /auth/session → 403',
            'GET /auth/sessions → 403',
            'GET /api/demo/hello → 403',
            'GET /files/report.txt → 403',
          ]);
        for (const e of network.answered()) {
          const withCookie = (e.requestHeaders.cookie ?? '').includes(`${COOKIE}=`);
          expect(withCookie, `${e.method} ${e.url}`).toBe(cookieExpected && !e.preflight);
          expect(e.requestHeaders.origin).toBe(attacker().origin);
        }
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.5.8 / W3C Fetch Metadata resource isolation: <img> of a protected file does not load', async () => {
      await attackPage(async (page, network) => {
        await page.goto(`${attacker().origin}/image`);
        expect(await resultOf(page)).toEqual({ event: 'error', naturalWidth: 0, naturalHeight: 0 });
        await expect.poll(() => network.summary()).toEqual(['GET /files/gatehouse.svg → 403']);
        const [image] = network.answered();
        expect(image?.requestHeaders['sec-fetch-site']).toBe(kind);
        expect((image?.requestHeaders.cookie ?? '').includes(`${COOKIE}=`)).toBe(cookieExpected);
      });
      await expectNothingChanged();
    });

    // Chromium sends no Fetch Metadata (Sec-Fetch-*) on a WebSocket handshake, so the cross-site
    // check that guards reads cannot see it. The demo API route is not a WebSocket route: the
    // gateway's upgrade handler refuses the handshake (404) before any session lookup or upstream
    // call, with or without the cookie (same-site pages get it, cross-site ones do not).
    it('ASVS 5.0 V4.4.2 / OWASP WebSocket Security Cheat Sheet (cross-site WebSocket hijacking): a WebSocket to a proxied API route is refused before it reaches the API; nothing opens, nothing is read', async () => {
      await attackPage(async (page, network) => {
        await page.goto(`${attacker().origin}/websocket`);
        expect(await resultOf(page)).toEqual(['error', 'close 1006']);
        await expect.poll(() => network.all().map((e) => e.method)).toEqual(['WEBSOCKET']);
        await expect.poll(() => network.summary()).toHaveLength(1);
        const [socket] = network.answered();
        expect(socket?.requestHeaders.origin).toBe(attacker().origin);
        // Refused by the gateway's upgrade handler, never the API's 2xx.
        expect(socket?.status, socket?.error).toBe(404);
        await expectNothingLeaked(page);
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.5.7 / V3.5.8 (cross-site script inclusion): <script src> of /auth/*, the API and a protected file is refused; nothing runs', async () => {
      await attackPage(async (page, network) => {
        await page.goto(`${attacker().origin}/script`);
        const paths = ['/auth/session', '/auth/sessions', '/api/demo/hello', '/files/report.txt'];
        expect(await resultOf(page)).toEqual(paths.map((path) => ({ path, event: 'error' })));
        await expect.poll(() => network.summary().sort()).toEqual(paths.map((path) => `GET ${path} → 403`).sort());
        for (const e of network.answered()) {
          expect(e.requestHeaders['sec-fetch-dest'], e.url).toBe('script');
          expect(e.requestHeaders['sec-fetch-site'], e.url).toBe(kind);
          expect((e.requestHeaders.cookie ?? '').includes(`${COOKIE}=`), e.url).toBe(cookieExpected);
        }
        // The browser hides the refused bodies from the page and from DevTools: the same request
        // again, with the browser's very headers, shows why the gateway refused.
        for (const e of network.answered()) expect(await replayedError(e), e.url).toBe('cross_site_rejected');
        await expectNothingLeaked(page);
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.5.2 / V3.5.8 / W3C Fetch Metadata: no-cors fetch() reads and simple-request writes are refused; the page gets nothing', async () => {
      await attackPage(async (page, network) => {
        await page.goto(`${attacker().origin}/no-cors`);
        const results = await resultOf<{ name: string; outcome: string; status?: number; error?: string }[]>(page);
        // Cross-Origin-Resource-Policy: same-origin makes every answer a network error to the page.
        expect(results.map((r) => [r.name, r.outcome, r.error ?? r.status])).toEqual([
          ['read /auth/session', 'error', 'TypeError: Failed to fetch'],
          ['read /api/demo/hello', 'error', 'TypeError: Failed to fetch'],
          ['read /files/report.txt', 'error', 'TypeError: Failed to fetch'],
          ['change password (urlencoded)', 'error', 'TypeError: Failed to fetch'],
          ['POST to the API (text/plain)', 'error', 'TypeError: Failed to fetch'],
        ]);
        await expect
          .poll(() => network.summary())
          .toEqual(['GET /auth/session → 403', 'GET /api/demo/hello → 403', 'GET /files/report.txt → 403', 'POST /auth/password → 403', 'POST /api/demo/hello → 403']);
        // The refused bodies are hidden from the page and from DevTools alike: the same requests
        // again, with the browser's very headers, show why the gateway refused.
        const errors = await Promise.all(network.answered().map((e) => replayedError(e)));
        expect(errors).toEqual(['cross_site_rejected', 'cross_site_rejected', 'cross_site_rejected', 'csrf_rejected', 'csrf_rejected']);
        await expectNothingLeaked(page);
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.4.8 (COOP) / W3C Fetch Metadata: window.open of a protected file and /auth/session is a link the user may follow, but the opener reads nothing', async () => {
      const { gw, context } = setup();
      const popups: Page[] = [];
      const onPage = (p: Page) => popups.push(p);
      context.on('page', onPage);
      try {
        await attackPage(async (page, network) => {
          await page.goto(`${attacker().origin}/open`);
          const results = await resultOf<{ path: string; outcome: unknown }[]>(page);
          // The opener can read neither the address nor the document: cross-origin (SecurityError),
          // and once Cross-Origin-Opener-Policy: same-origin applies, its handle is severed (closed).
          expect(results.map((r) => r.path)).toEqual(['/files/report.txt', '/auth/session']);
          for (const { outcome } of results) expect(outcome).toMatch(/^(severed|unreadable: SecurityError)$/);
          await expectNothingLeaked(page);
          expect(network.answered().length).toBe(0); // the popups' requests are theirs, not this page's
        });
        // The attacker's own page (closed by now) came through the same event.
        popups.splice(0, popups.length, ...popups.filter((p) => !p.isClosed()));
        expect(popups.length).toBe(2);
        for (const popup of popups) await popup.waitForLoadState('load');
        const shown = Object.fromEntries(popups.map((p) => [new URL(p.url()).pathname, p.url()]));
        if (kind === 'same-site') {
          // SameSite=Strict sends the cookie on a same-site navigation: the user sees their own file.
          expect(Object.keys(shown).sort()).toEqual(['/auth/session', '/files/report.txt']);
        } else {
          // Cross-site, the cookie stays home: the file asks for sign-in, the session answers 401.
          expect(Object.keys(shown).sort()).toEqual(['/', '/auth/session']);
          const session = popups.find((p) => new URL(p.url()).pathname === '/auth/session');
          expect(JSON.parse((await session?.textContent('body')) ?? '{}')).toMatchObject({ error: 'unauthenticated' });
        }
        expect(new URL(Object.values(shown)[0] ?? '').origin).toBe(gw.origin);
      } finally {
        context.off('page', onPage);
        await Promise.allSettled(popups.map((p) => p.close()));
      }
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.5.3 (no state change on GET): a top-level navigation to /auth/logout and DELETE-only routes changes nothing', async () => {
      const { gw } = setup();
      for (const path of ['/auth/logout', '/auth/sessions/all']) {
        await attackPage(async (page) => {
          const target = `${gw.origin}${path}`;
          const answered = page.waitForResponse((r) => r.url() === target);
          await page.goto(navigateUrl(attacker(), target), { waitUntil: 'commit' });
          const response = await answered;
          expect(response.request().method()).toBe('GET');
          expect((await response.request().allHeaders())['sec-fetch-mode']).toBe('navigate');
          expect(response.status(), path).toBe(404);
          expect((await response.allHeaders())['set-cookie']).toBeUndefined();
        });
      }
      await expectNothingChanged();
    });

    it('RFC 9700 §4.7.1 / ASVS 5.0 V10.1.2 (login CSRF): the attacker\'s own authorization response, replayed in the victim\'s browser, signs nobody in', async () => {
      const { gw } = setup();
      const callback = await attackerAuthorizationResponse(gw);
      await attackPage(async (page) => {
        const answered = page.waitForResponse((r) => r.url() === callback);
        await page.goto(navigateUrl(attacker(), callback), { waitUntil: 'commit' });
        const response = await answered;
        // No login transaction of this browser matches the state: refused before the code is
        // exchanged, back to the login page.
        expect(response.status()).toBe(303);
        expect((await response.allHeaders()).location).toMatch(/\?login_error=login_transaction_invalid$/);
        const cookies = (await response.headerValues('set-cookie')).join('\n');
        expect(cookies).not.toMatch(new RegExp(`(^|\n)${COOKIE}=[^;]`));
      });
      await expectNothingChanged();
    });

    it('ASVS 5.0 V3.4.6 (frame-ancestors) / OWASP Clickjacking Defense Cheat Sheet: <iframe> of the SPA is refused', async () => {
      await attackPage(async (page, network) => {
        const messages: string[] = [];
        page.on('console', (m) => messages.push(m.text()));
        await page.goto(`${attacker().origin}/frame`);
        expect(await resultOf(page)).toEqual({ event: 'load', readable: false });
        const child = page.frames().find((f) => f !== page.mainFrame());
        // Chromium replaces a refused frame with its error page; the SPA never runs in it.
        expect(child?.url()).toBe('chrome-error://chromewebdata/');
        expect(await child?.$('#signed-in')).toBeNull();
        await expect.poll(() => messages.join('\n')).toContain(`violates the following Content Security Policy directive: "frame-ancestors 'none'"`);
        // Only the document itself was fetched: no app.js, no /auth/session from inside the frame.
        await expect.poll(() => network.summary()).toEqual(['GET / → 200']);
        const [frame] = network.answered();
        expect(frame?.responseHeaders['x-frame-options']).toBe('DENY');
        expect(frame?.responseHeaders['content-security-policy']).toContain("frame-ancestors 'none'");
        await expectNothingLeaked(page);
      });
      await expectNothingChanged();
    });
  });
  it('ASVS 5.0 V3.7.2 / RFC 9700 §4.11.1, V14.3.3, V14.2.1, RFC 10017 (BFF): a cross-site link to federated sign-in with a hostile returnTo lands on the gateway, and no token reaches a URL, storage or script', async () => {
    const { gw } = setup();
    const site = attackers['cross-site'];
    if (!browser || !site) throw new Error('set-up failed (see beforeAll)');
    const fresh = await newContext(browser);
    const urls: string[] = [];
    try {
      await fresh.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());
      fresh.on('request', (r) => urls.push(r.url()));
      const page = await fresh.newPage();
      // "/%2e//evil.example" normalises to "//evil.example": a network-path reference to another host.
      const login = `${gw.origin}/auth/login?${new URLSearchParams({ provider: 'demo', returnTo: '/%2e//evil.example/phish' })}`;
      await page.goto(navigateUrl(site, login));
      await page.waitForURL(/127\.0\.0\.1:\d+\/interaction\//);
      await page.fill('input[name="login"]', 'grace');
      await page.fill('input[name="password"]', 'anything');
      await page.click('button[type="submit"]');
      await page.waitForURL((u) => u.origin === gw.origin && !u.pathname.startsWith('/auth/'));
      expect(page.url()).toBe(`${gw.origin}/`);
      await page.locator('#signed-in').waitFor({ state: 'visible' });
      await expect.poll(() => page.textContent('#user-name')).toBe('Grace Hopper');
      expect(urls.some((u) => u.includes('evil.example/'))).toBe(false);

      const seen = await page.evaluate(async () => ({
        cookie: document.cookie,
        local: Object.keys(localStorage),
        session: Object.keys(sessionStorage),
        databases: (await indexedDB.databases()).map((d) => d.name),
        caches: await caches.keys(),
        history: history.length,
        loaded: performance.getEntries().map((e) => e.name),
      }));
      expect(seen).toMatchObject({ cookie: '', local: [], session: [], databases: [], caches: [] });
      // Only the one-time code and state ever crossed the browser, in the callback URL (RFC 9700 §2.1.1).
      const jwt = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
      for (const u of [...urls, ...seen.loaded]) {
        expect(u).not.toMatch(jwt);
        expect(u).not.toMatch(/access_token|id_token|refresh_token/);
      }
      const jar = await fresh.cookies(gw.origin);
      expect(jar.map((c) => c.name)).toEqual([COOKIE]);
      expect(jar[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    } finally {
      await fresh.close();
    }
  });
});
