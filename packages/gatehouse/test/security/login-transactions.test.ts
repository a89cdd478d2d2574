/**
 * Login transactions under parallel sign-ins and across instances, over real sockets against the
 * real in-process oidc-provider.
 *
 * - Several tabs of one browser signing in at once each keep their own transaction cookie (named
 *   after the login's state), so every one of them completes; a bounded number are kept, and the
 *   oldest is evicted (oauth2-proxy #611/#817/#3258 is what one shared cookie name does).
 * - "Single use" holds across instances: a callback replayed on another instance is refused before
 *   the provider sees the spent code again (a provider that sees a code twice revokes the grant:
 *   RFC 6749 §4.1.2, RFC 9700 §4.5), and the legitimate session keeps working.
 * - With the coordination backend out, the callback fails closed (503) and never exchanges.
 *
 * The provider's token endpoint is counted AT THE PROVIDER (a middleware in oidc-provider).
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createGatehouse, type Gatehouse } from '../../src/server.js';
import { ERRORS } from '../../src/errors.js';
import { MAX_TRANSACTIONS, TRANSACTION_COOKIE_BUDGET } from '../../src/oidc/transaction.js';
import { ORIGIN } from '../helpers/gateway.js';
import { authorizeAtProvider, NAVIGATE, type OidcHarness, oidcHarness } from '../helpers/oidc.js';
import { deleteKeys, type RedisProcess, startRedisServer, until } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';

const TX_PREFIX = '__Host-gatehouse-tx-';
const SESSION = '__Host-gatehouse';
/** The provider's redirect back: a cross-site top-level navigation. */
const CALLBACK = { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } as const;
/** A fetch-style request (refusals come back as JSON, not as a redirect to the login page). */
const CALLBACK_FETCH = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty' } as const;

interface Answer {
  status: number;
  location: string | undefined;
  setCookies: string[];
  body: string;
}

/** One HTTP/1.1 request over a real socket (a fresh connection, no pooling). */
function send(base: URL, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          setCookies: res.headers['set-cookie'] ?? [],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The gateway's cookies in one browser: Set-Cookie applied in order, Max-Age=0 deletes. */
class BrowserJar {
  readonly cookies = new Map<string, string>();
  apply(answer: Answer): void {
    for (const header of answer.setCookies) {
      const [pair = ''] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      if (/;\s*Max-Age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  transactions(): string[] {
    return [...this.cookies.keys()].filter((name) => name.startsWith(TX_PREFIX));
  }
}

/** A listening gateway's base URL. */
async function listen(gatehouse: Gatehouse): Promise<URL> {
  await gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
  return new URL(`http://127.0.0.1:${(gatehouse.app.server.address() as AddressInfo).port}`);
}

/**
 * Counts, at the provider, every answer of its token endpoint: oidc-provider emits `grant.success`
 * or `grant.error` for each token request it handles.
 */
function countTokenEndpoint(h: OidcHarness): { requests: () => number; grants: string[]; errors: string[] } {
  const grants: string[] = [];
  const errors: string[] = [];
  h.idp.provider.on('grant.success', (ctx) => grants.push(String(ctx.oidc.params?.grant_type)));
  h.idp.provider.on('grant.error', (_ctx, error) => errors.push(String((error as { error?: string }).error ?? error)));
  return { requests: () => grants.length + errors.length, grants, errors };
}

/** A login started in `jar` (a tab): the state it carries and where the provider sends the browser. */
async function start(base: URL, jar: BrowserJar, returnTo: string): Promise<{ state: string; authorizationUrl: string; answer: Answer }> {
  const answer = await send(base, `/auth/login?provider=test&returnTo=${encodeURIComponent(returnTo)}`, { ...NAVIGATE, ...(jar.cookies.size ? { cookie: jar.header() } : {}) });
  expect(answer.status).toBe(302);
  jar.apply(answer);
  const authorizationUrl = answer.location as string;
  return { state: new URL(authorizationUrl).searchParams.get('state') as string, authorizationUrl, answer };
}

/** The provider's redirect back, as a path on the gateway (the user signs in as `sub`). */
async function atProvider(authorizationUrl: string, sub = 'ada'): Promise<string> {
  const back = await authorizeAtProvider(authorizationUrl, sub);
  expect(back.origin).toBe(ORIGIN);
  return `${back.pathname}${back.search}`;
}

function sessionCookie(answer: Answer): string | undefined {
  return answer.setCookies.find((c) => c.startsWith(`${SESSION}=`) && !/^[^=]+=;/.test(c))?.split(';', 1)[0];
}

async function whoAmI(base: URL, cookie: string): Promise<{ status: number; user?: string }> {
  const res = await send(base, '/auth/session', { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'x-csrf': '1', cookie });
  return { status: res.status, ...(res.status === 200 ? { user: JSON.parse(res.body).user.id as string } : {}) };
}

function expectTransactionInvalid(answer: Answer): void {
  expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
    status: 400,
    body: { error: 'login_transaction_invalid', message: ERRORS.login_transaction_invalid.message },
  });
  expect(sessionCookie(answer)).toBeUndefined();
}

let h: OidcHarness | undefined;
let second: Gatehouse | undefined;
afterEach(async () => {
  await second?.close();
  await h?.close();
  h = second = undefined;
});

describe('parallel sign-ins in several tabs of one browser', () => {
  it('OWASP Session Management Cheat Sheet / RFC 9700 §4.7.1 (state bound to the browser): three logins started in three tabs before any callback all complete, each with its own transaction', async () => {
    h = await oidcHarness();
    const idp = countTokenEndpoint(h);
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    const tabs = [];
    for (const tab of [1, 2, 3]) tabs.push(await start(base, jar, `/tab/${tab}`));
    expect(jar.transactions()).toHaveLength(3);
    // Every tab went to the provider before any came back.
    const callbacks = [];
    for (const tab of tabs) callbacks.push(await atProvider(tab.authorizationUrl));
    // They come back in another order; each consumes its own transaction and clears only its cookie.
    for (const i of [2, 0, 1]) {
      const before = jar.transactions();
      const answer = await send(base, callbacks[i] as string, { ...CALLBACK, cookie: jar.header() });
      expect({ status: answer.status, location: answer.location }).toEqual({ status: 303, location: `/tab/${i + 1}` });
      const cookie = sessionCookie(answer);
      expect(cookie).toBeDefined();
      const cleared = answer.setCookies.filter((c) => c.startsWith(TX_PREFIX)).map((c) => c.split('=', 1)[0]);
      jar.apply(answer);
      expect(cleared).toHaveLength(1);
      expect(jar.transactions()).toEqual(before.filter((name) => name !== cleared[0]));
      expect(await whoAmI(base, cookie as string)).toEqual({ status: 200, user: 'test:ada' });
    }
    expect(jar.transactions()).toEqual([]);
    expect(idp.requests()).toBe(3);
    expect(idp.errors).toEqual([]);
  });

  it(`RFC 6265bis §5.6 (4096-byte cookie limit): at most ${MAX_TRANSACTIONS} transactions; the next start evicts the oldest, whose callback gets 400 login_transaction_invalid and never reaches the provider; the others complete`, async () => {
    h = await oidcHarness();
    const idp = countTokenEndpoint(h);
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    const tabs = [];
    for (let tab = 1; tab <= MAX_TRANSACTIONS + 1; tab++) tabs.push(await start(base, jar, `/tab/${tab}`));
    // The sixth start expired the first login's cookie (and only that one) in the same answer.
    const firstName = tabs[0]?.answer.setCookies[0]?.split('=', 1)[0] as string;
    const sixth = tabs[MAX_TRANSACTIONS]?.answer as Answer;
    expect(sixth.setCookies.filter((c) => /^[^=]+=;/.test(c)).map((c) => c.split('=', 1)[0])).toEqual([firstName]);
    expect(jar.transactions()).toHaveLength(MAX_TRANSACTIONS);
    expect(jar.transactions()).not.toContain(firstName);
    // Sizes: each cookie far under 4096 bytes, all of them together within the budget.
    const sizes = [...jar.cookies].map(([k, v]) => k.length + 1 + v.length);
    for (const size of sizes) expect(size).toBeLessThan(1024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(TRANSACTION_COOKIE_BUDGET);

    const callbacks = [];
    for (const tab of tabs) callbacks.push(await atProvider(tab.authorizationUrl));
    const evicted = await send(base, callbacks[0] as string, { ...CALLBACK_FETCH, cookie: jar.header() });
    expectTransactionInvalid(evicted);
    expect(idp.requests()).toBe(0);
    for (let i = 1; i <= MAX_TRANSACTIONS; i++) {
      const answer = await send(base, callbacks[i] as string, { ...CALLBACK, cookie: jar.header() });
      expect({ status: answer.status, location: answer.location }).toEqual({ status: 303, location: `/tab/${i + 1}` });
      expect(sessionCookie(answer)).toBeDefined();
      jar.apply(answer);
    }
    expect(idp.requests()).toBe(MAX_TRANSACTIONS);
  });

  it('RFC 6265bis §5.6: a transaction with the longest returnTo (2048) still fits one cookie; the byte budget evicts older ones to keep the Cookie header bounded', async () => {
    h = await oidcHarness();
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    for (let tab = 1; tab <= 3; tab++) await start(base, jar, `/tab/${tab}`);
    const long = `/${'a'.repeat(2047)}`;
    const tab = await start(base, jar, long);
    const own = jar.transactions().map((name) => `${name}=${jar.cookies.get(name)}`);
    for (const pair of own) expect(pair.length).toBeLessThan(4096);
    expect(own.reduce((a, p) => a + p.length, 0)).toBeLessThanOrEqual(TRANSACTION_COOKIE_BUDGET);
    expect(jar.transactions().length).toBeLessThan(4);
    // And that long login still completes, landing on its returnTo.
    const answer = await send(base, await atProvider(tab.authorizationUrl), { ...CALLBACK, cookie: jar.header() });
    expect({ status: answer.status, location: answer.location }).toEqual({ status: 303, location: long });
  });

  it('RFC 6265bis §5.6 / RFC 9700 §4.11: a login link whose returnTo grows past 2048 once percent-encoded (1,000 × "一" is 9 KB) falls back to "/": its cookie fits, the other tabs’ logins are not evicted, and it completes', async () => {
    h = await oidcHarness();
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    const tabs = [await start(base, jar, '/tab/1'), await start(base, jar, '/tab/2')];
    const before = jar.transactions();
    // An attacker's link: 1,000 characters (under the 2048 sent), 9,001 once URL-encoded.
    const lured = await start(base, jar, `/${'一'.repeat(1000)}`);
    expect(lured.answer.setCookies.filter((c) => /^[^=]+=;/.test(c))).toEqual([]);
    for (const c of lured.answer.setCookies) expect(c.length).toBeLessThan(4096);
    expect(jar.transactions()).toEqual([...before, expect.stringMatching(/^__Host-gatehouse-tx-/)]);
    const answer = await send(base, await atProvider(lured.authorizationUrl), { ...CALLBACK, cookie: jar.header() });
    expect({ status: answer.status, location: answer.location }).toEqual({ status: 303, location: '/' });
    jar.apply(answer);
    // The tabs that were signing in before the link still complete.
    for (const [i, tab] of tabs.entries()) {
      const done = await send(base, await atProvider(tab.authorizationUrl), { ...CALLBACK, cookie: jar.header() });
      expect({ status: done.status, location: done.location }).toEqual({ status: 303, location: `/tab/${i + 1}` });
      jar.apply(done);
    }
  });

  it('OIDC Core §3.1.2.7 / RFC 6749 §10.12: a callback whose state names no transaction cookie → 400 login_transaction_invalid; the tabs’ own logins are left alone', async () => {
    h = await oidcHarness();
    const idp = countTokenEndpoint(h);
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    const tab = await start(base, jar, '/mine');
    const back = new URL(await atProvider(tab.authorizationUrl), ORIGIN);
    back.searchParams.set('state', 'a-state-this-browser-never-started');
    const forged = await send(base, `${back.pathname}${back.search}`, { ...CALLBACK_FETCH, cookie: jar.header() });
    expectTransactionInvalid(forged);
    expect(forged.setCookies.filter((c) => c.startsWith(TX_PREFIX)).every((c) => !c.startsWith(`${jar.transactions()[0]}=`))).toBe(true);
    expect(idp.requests()).toBe(0);
    const real = await send(base, await atProvider(tab.authorizationUrl), { ...CALLBACK, cookie: jar.header() });
    expect({ status: real.status, location: real.location }).toEqual({ status: 303, location: '/mine' });
  });
});

describeWithRedis('single use across two instances on one Redis', () => {
  const prefix = `gh-test:${runId}:login-tx:`;
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix);
  });

  /** A, and a second instance B with its own Redis connection, A's keys and config: another process. */
  async function twoInstances(): Promise<{ a: URL; b: URL; idp: ReturnType<typeof countTokenEndpoint> }> {
    h = await oidcHarness({ session: { store: REDIS_URL }, redis: { keyPrefix: prefix } }, { accessTokenTtl: 30 });
    const idp = countTokenEndpoint(h);
    const gatehouse = h.gw.gatehouse;
    second = await createGatehouse(gatehouse.config, { clock: h.gw.clock, keys: gatehouse.keys, logger: false });
    return { a: await listen(gatehouse), b: await listen(second), idp };
  }

  it('RFC 9700 §4.5 / RFC 6749 §4.1.2 (code used once): a completed callback replayed on the other instance → 400 login_transaction_invalid; the token endpoint was called once; the session still refreshes', async () => {
    const { a, b, idp } = await twoInstances();
    const jar = new BrowserJar();
    const tab = await start(a, jar, '/home');
    const callback = await atProvider(tab.authorizationUrl);
    const sentCookie = jar.header();
    const first = await send(a, callback, { ...CALLBACK, cookie: sentCookie });
    expect({ status: first.status, location: first.location }).toEqual({ status: 303, location: '/home' });
    const cookie = sessionCookie(first) as string;
    expect(idp.requests()).toBe(1);

    // The attacker (or a retrying proxy) sends the very same callback, cookie included, to B.
    const replay = await send(b, callback, { ...CALLBACK_FETCH, cookie: sentCookie });
    expectTransactionInvalid(replay);
    expect(idp.requests()).toBe(1);
    expect(idp.errors).toEqual([]);

    // The legitimate session is intact: its access token (30 s) is due for refresh, and the
    // refresh token still works at the provider — on either instance.
    expect(await whoAmI(b, cookie)).toEqual({ status: 200, user: 'test:ada' });
    expect(await whoAmI(a, cookie)).toEqual({ status: 200, user: 'test:ada' });
    expect(idp.grants).toContain('refresh_token');
    expect(idp.errors).toEqual([]);
    expect(await h?.gw.gatehouse.store.listByUser('test:ada')).toHaveLength(1);
  });

  it('RFC 9700 §4.5: the same callback arriving at both instances at once → exactly one session, one token request; the other gets 400 login_transaction_invalid', async () => {
    const { a, b, idp } = await twoInstances();
    const jar = new BrowserJar();
    const tab = await start(a, jar, '/home');
    const callback = await atProvider(tab.authorizationUrl, 'alan');
    const headers = { ...CALLBACK_FETCH, cookie: jar.header() };
    const answers = await Promise.all([send(a, callback, headers), send(b, callback, headers), send(a, callback, headers), send(b, callback, headers)]);
    const won = answers.filter((x) => x.status === 303);
    expect(won).toHaveLength(1);
    expect(sessionCookie(won[0] as Answer)).toBeDefined();
    for (const lost of answers.filter((x) => x.status !== 303)) expectTransactionInvalid(lost);
    expect(idp.requests()).toBe(1);
    expect(idp.errors).toEqual([]);
    expect(await h?.gw.gatehouse.store.listByUser('test:alan')).toHaveLength(1);
  });
});

describeWithRedis('coordination backend out at the callback', () => {
  let redis: RedisProcess | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('OWASP ASVS 5.0 V16.5 (fail securely): Redis down → 503 store_unavailable, the code is never exchanged and the cookie kept; once Redis is back the same callback completes', async () => {
    redis = await startRedisServer();
    h = await oidcHarness({
      session: { store: redis.url },
      redis: { keyPrefix: `gh-test:${runId}:login-tx-outage:`, connectTimeout: '500ms', commandTimeout: '500ms' },
    });
    const idp = countTokenEndpoint(h);
    const base = await listen(h.gw.gatehouse);
    const jar = new BrowserJar();
    const tab = await start(base, jar, '/after-outage');
    const callback = await atProvider(tab.authorizationUrl);

    await redis.shutdownSaving();
    const refused = await send(base, callback, { ...CALLBACK, cookie: jar.header() });
    expect({ status: refused.status, error: JSON.parse(refused.body).error }).toEqual({ status: 503, error: 'store_unavailable' });
    expect(refused.setCookies).toEqual([]); // no session, and the transaction cookie stays for a retry
    expect(idp.requests()).toBe(0);

    await redis.start();
    await until(async () => (await send(base, '/readyz', {})).status === 200, 15_000, 'the gateway to be ready again');
    const retried = await send(base, callback, { ...CALLBACK, cookie: jar.header() });
    expect({ status: retried.status, location: retried.location }).toEqual({ status: 303, location: '/after-outage' });
    expect(sessionCookie(retried)).toBeDefined();
    expect(idp.requests()).toBe(1);
  });
});
