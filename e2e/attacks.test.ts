// A signed-in user opens a hostile page in the same browser (same cookie jar). Whatever that page
// does — auto-submitted forms, fetch with credentials, <img>, <iframe> — the user stays signed in,
// the user's sessions stay exactly as they were, and the page reads nothing.
//
// Two attackers: http://127.0.0.1:<port> is another SITE (SameSite=Strict already keeps the cookie
// at home); https://localhost:<port> is only another ORIGIN on the same site, so the browser DOES
// send the cookie and the gateway's own checks (Origin, Sec-Fetch-Site, X-CSRF, no CORS) are what
// must hold.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Attacker, type FormField, formUrl, startAttacker } from './support/attacker.js';
import { browserAvailable, launchBrowser, newContext, sessionState, signIn } from './support/browser.js';
import { type DemoGateway, startDemo } from './support/gateway.js';

const COOKIE = '__Host-gatehouse';
type Kind = 'cross-site' | 'same-site';

interface Seen {
  method: string;
  url: string;
  status: number;
  cookieSent: boolean;
  origin: string | undefined;
  secFetchSite: string | undefined;
  setCookie: string | undefined;
  body: string;
}

describe.runIf(browserAvailable())('cross-origin attacks on a signed-in user change nothing', () => {
  let gateway: DemoGateway | undefined;
  let browser: Browser | undefined;
  let victimContext: BrowserContext | undefined;
  let otherDevice: BrowserContext | undefined;
  let victim: Page | undefined;
  const attackers: Partial<Record<Kind, Attacker>> = {};
  let baseline: Awaited<ReturnType<typeof sessionState>> | undefined;
  let cookieValue = '';

  beforeAll(async () => {
    [gateway, browser] = await Promise.all([startDemo(), launchBrowser()]);
    const tls = {
      cert: await readFile(join(gateway.dataDir, 'tls/localhost.crt'), 'utf8'),
      key: await readFile(join(gateway.dataDir, 'tls/localhost.key'), 'utf8'),
    };
    attackers['cross-site'] = await startAttacker(gateway.origin);
    attackers['same-site'] = await startAttacker(gateway.origin, tls);

    // A second device, so that "revoke all other sessions" would show.
    otherDevice = await newContext(browser);
    await signIn(await otherDevice.newPage(), gateway);
    victimContext = await newContext(browser);
    victim = await victimContext.newPage();
    await signIn(victim, gateway);

    baseline = await sessionState(victim);
    expect(baseline.session).toBe(200);
    expect(baseline.user).toBe('Demo User');
    expect(baseline.sessions).toHaveLength(2);
    cookieValue = (await victimContext.cookies(gateway.origin)).find((c) => c.name === COOKIE)?.value ?? '';
    expect(cookieValue).not.toBe('');
  });

  afterAll(async () => {
    await Promise.allSettled(Object.values(attackers).map((a) => a.close()));
    await Promise.allSettled([browser?.close(), gateway?.stop()]);
  });

  function setup() {
    if (!gateway || !victimContext || !victim || !baseline) throw new Error('set-up failed');
    return { gw: gateway, context: victimContext, victim, baseline };
  }

  /** The victim is still signed in, with exactly the sessions and the cookie it had. */
  async function expectNothingChanged(): Promise<void> {
    const { gw, context, victim, baseline } = setup();
    expect(await sessionState(victim)).toEqual(baseline);
    expect((await context.cookies(gw.origin)).find((c) => c.name === COOKIE)?.value).toBe(cookieValue);
    await victim.reload();
    await victim.locator('#signed-in').waitFor({ state: 'visible' });
    await expect.poll(() => victim.textContent('#user-name')).toBe('Demo User');
  }

  /** Opens an attacker page in the victim's context, recording every gateway response it causes. */
  async function attackPage(run: (page: Page, seen: () => Promise<Seen[]>) => Promise<void>): Promise<void> {
    const { gw, context } = setup();
    const page = await context.newPage();
    const pending: Promise<Seen>[] = [];
    page.on('response', (response: Response) => {
      if (!response.url().startsWith(`${gw.origin}/`)) return;
      pending.push(
        (async () => {
          const headers = await response.request().allHeaders();
          return {
            method: response.request().method(),
            url: response.url(),
            status: response.status(),
            cookieSent: (headers.cookie ?? '').includes(`${COOKIE}=`),
            origin: headers.origin,
            secFetchSite: headers['sec-fetch-site'],
            setCookie: (await response.allHeaders())['set-cookie'],
            body: await response.text().catch((error: unknown) => `(no body: ${error})`),
          };
        })(),
      );
    });
    page.on('requestfailed', async (request) => {
      if (!request.url().startsWith(`${gw.origin}/`)) return;
      const r = await request.response().catch(() => null);
      console.log('FAILED', request.method(), request.url(), request.failure()?.errorText, r?.status(), JSON.stringify(await request.allHeaders().catch(() => ({}))));
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const urls = new Map<string, string>();
    cdp.on('Network.requestWillBeSent', (e) => { urls.set(e.requestId, `${e.request.method} ${e.request.url} type=${e.type} init=${e.initiator.type}`); });
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => { console.log('REQX', e.requestId, urls.get(e.requestId), JSON.stringify(e.headers), e.headers['sec-fetch-site'], e.headers['sec-fetch-mode'], e.headers.origin, e.headers[':method']); });
    cdp.on('Network.responseReceivedExtraInfo', (e) => { console.log('RESX', e.requestId, urls.get(e.requestId), e.statusCode, e.headers['content-type']); });
    cdp.on('Network.loadingFinished', (e) => { console.log('FIN', e.requestId, urls.get(e.requestId)); });
    cdp.on('Network.responseReceived', (e) => { console.log('RES', e.requestId, urls.get(e.requestId), e.response.status); });
    cdp.on('Network.loadingFailed', (e) => { console.log('FAIL', e.requestId, urls.get(e.requestId), e.errorText, e.corsErrorStatus?.corsError, e.blockedReason); });
    try {
      await run(page, () => Promise.all(pending));
    } finally {
      await page.close();
    }
  }

  describe.each<Kind>(['cross-site', 'same-site'])('from a %s page', (kind) => {
    const attacker = () => {
      const a = attackers[kind];
      if (!a) throw new Error('set-up failed');
      return a;
    };

    const forms: { path: string; enctype: string; fields: (password: string) => FormField[] }[] = [];
    for (const enctype of ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']) {
      forms.push({ path: '/auth/logout', enctype, fields: () => [{ name: 'a', value: '1' }] });
      // Login CSRF: signing the victim in (into an account the attacker knows) must fail as well.
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

    it.each(forms)('auto-submitted form POST $path ($enctype) is refused with csrf_rejected', async ({ path, enctype, fields }) => {
      const { gw } = setup();
      await attackPage(async (page, seen) => {
        const target = `${gw.origin}${path}`;
        const submitted = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
        await page.goto(formUrl(attacker(), path, enctype, fields(gw.password)), { waitUntil: 'commit' });
        const response = await submitted;
        await page.waitForURL(target);
        const [record, ...more] = (await seen()).filter((s) => s.method === 'POST');
        console.log(kind, path, enctype, JSON.stringify(record), more.length);
        expect(response.status()).toBe(403);
        expect(JSON.parse(await response.text())).toEqual({ error: 'csrf_rejected', message: expect.any(String) });
      });
      await expectNothingChanged();
    });

    it('fetch() with credentials can neither change nor read anything', async () => {
      await attackPage(async (page, seen) => {
        await page.goto(`${attacker().origin}/fetch`);
        await page.waitForFunction(() => document.title === 'done');
        const results = JSON.parse((await page.textContent('#out')) ?? 'null');
        console.log(kind, JSON.stringify(results, null, 1));
        console.log(kind, JSON.stringify(await seen(), null, 1));
      });
      await expectNothingChanged();
    });

    it('<img> of a protected file does not load', async () => {
      await attackPage(async (page, seen) => {
        await page.goto(`${attacker().origin}/image`);
        await page.waitForFunction(() => document.title === 'done');
        const result = JSON.parse((await page.textContent('#out')) ?? 'null');
        console.log(kind, JSON.stringify(result));
        console.log(kind, JSON.stringify(await seen(), null, 1));
      });
      await expectNothingChanged();
    });

    it('<iframe> of the SPA is refused', async () => {
      await attackPage(async (page, seen) => {
        const messages: string[] = [];
        page.on('console', (m) => messages.push(m.text()));
        await page.goto(`${attacker().origin}/frame`);
        await page.waitForFunction(() => document.title === 'done');
        const result = JSON.parse((await page.textContent('#out')) ?? 'null');
        console.log(kind, JSON.stringify(result), page.frames().map((f) => f.url()), messages);
        console.log(kind, JSON.stringify(await seen(), null, 1));
      });
      await expectNothingChanged();
    });
  });
});
