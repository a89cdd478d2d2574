import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JWKS_FAILURE_COOLDOWN_MS, JWKS_MAX_AGE_MS, JWKS_UNKNOWN_KID_COOLDOWN_MS } from '../../src/oidc/jwks-cache.js';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import {
  expectLoginRefused,
  expectNothingCreated,
  FETCH,
  type Grant,
  type HostileHarness,
  type HostileHarnessOptions,
  hostileHarness,
  mark,
  type RefreshAnswer,
  sessionCookiesSet,
} from '../helpers/hostile-provider.js';
import { SESSION_MODES, withMode } from '../helpers/session-modes.js';

/**
 * A hostile OpenID provider against a gateway listening on a real socket: every answer below got
 * a session before (issue 11). Each must be refused with the exact code, create no session, store
 * nothing, and say why in exactly one `login_failed` audit line.
 *
 * The sign-in checks run once: they refuse before any session exists, the same code in both
 * session modes. A refresh acts on a live session, so those run in both (in cookie mode the
 * tokens are in the registry, the cookie holds none, and ending the session is a revocation).
 */

const harnesses: HostileHarness[] = [];
async function harness(options: HostileHarnessOptions = {}): Promise<HostileHarness> {
  const h = await hostileHarness({ listen: true, ...options });
  harnesses.push(h);
  return h;
}
afterAll(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

/** One sign-in whose provider answers `grant`: the callback's response and the mark before it. */
async function attempt(h: HostileHarness, grant: Grant, style: 'navigation' | 'fetch' = 'navigation') {
  const begun = await h.begin();
  const m = mark(h);
  const res = await h.callback('hostile', h.query(begun, h.code(begun, grant)), begun.txCookie, style === 'fetch' ? FETCH : undefined);
  return { res, m };
}

async function expectRefused(h: HostileHarness, grant: Grant, reason: RegExp, style: 'navigation' | 'fetch' = 'navigation') {
  const { res, m } = await attempt(h, grant, style);
  expectLoginRefused(res, 'login_failed', style);
  await expectNothingCreated(h, m, { subs: [grant.sub], exchanged: true, code: 'login_failed', reason });
}

describe('ID token and token response checks openid-client does not make', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await harness();
  });

  it('OIDC Core §3.1.3.7: azp naming another party while aud is only this client → 400 login_failed, no session', async () => {
    await expectRefused(h, { sub: 'azp-other', idToken: { claims: { azp: 'some-other-client' } } }, /azp "some-other-client"/, 'fetch');
    // Control: azp equal to our client_id signs in.
    await h.signIn('azp-ours', { idToken: { claims: { azp: h.idp.clientId } } });
  });

  it('OIDC Core §3.1.3.7 (iat): an ID token issued an hour in the future → login_failed; within the 30 s tolerance it signs in', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(h, { sub: 'iat-future', idToken: { claims: { iat: now + 3600, exp: now + 7200 } } }, /iat is \d+ s in the future/);
    await h.signIn('iat-skewed', { idToken: { claims: { iat: now + 15 } } });
  });

  it('RFC 6749 §7.1 / RFC 9449 §5: token_type "DPoP" for a client that never used DPoP → login_failed; "BEARER" (any case) signs in', async () => {
    await expectRefused(h, { sub: 'dpop-token', tokenFields: { token_type: 'DPoP' } }, /token_type "dpop"/i, 'fetch');
    await expectRefused(h, { sub: 'mac-token', tokenFields: { token_type: 'N_A' } }, /token_type/);
    await h.signIn('bearer-upper', { tokenFields: { token_type: 'BEARER' } });
  });

  for (const typ of ['logout+jwt', 'at+jwt', 'application/at+jwt', 'secevent+jwt', 'dpop+jwt']) {
    it(`RFC 8725 §3.11 (cross-JWT confusion): an ID token typed "${typ}" → login_failed, no session`, async () => {
      await expectRefused(h, { sub: `typ-${typ.replace(/\W/g, '-')}`, idToken: { header: { typ } } }, /ID token typ/);
    });
  }

  it('RFC 7519 §5.1: typ absent, "JWT" or "application/jwt" still signs in (control)', async () => {
    await h.signIn('typ-absent', { idToken: { header: { typ: undefined } } });
    await h.signIn('typ-jwt', { idToken: { header: { typ: 'JWT' } } });
    await h.signIn('typ-app-jwt', { idToken: { header: { typ: 'application/jwt' } } });
  });
});

describe('OWASP ASVS 5.0 V15.2 resource limits: what a provider returns is bounded', () => {
  it('a 51 MB JWKS is not parsed: the download is cut off (the provider sees the connection close early) → login_failed, no session', async () => {
    const h = await harness();
    h.idp.hugeJwks = 51 * 1024 * 1024;
    const rssBefore = process.memoryUsage().rss;
    await expectRefused(h, { sub: 'huge-jwks' }, /jwks exceeds 262144 bytes/);
    const [stream] = h.idp.streams;
    await stream?.done;
    // Diagnostic only (not asserted: other tests share the process): the gateway's memory growth.
    console.info(`51 MB JWKS: provider wrote ${stream?.written} of ${stream?.planned} bytes; gateway RSS ${Math.round((process.memoryUsage().rss - rssBefore) / 1048576)} MB`);
    expect(stream?.path).toBe('/jwks');
    expect(stream?.completed).toBe(false);
    expect(stream?.written).toBeLessThan(stream?.planned ?? 0);
  });

  it('a 10 MB token response is refused while streaming (64 KiB limit) → login_failed; nothing stored', async () => {
    const h = await harness();
    await expectRefused(h, { sub: 'huge-token', hugeTokenResponse: 10 * 1024 * 1024 }, /token exceeds 65536 bytes/, 'fetch');
    const [stream] = h.idp.streams;
    await stream?.done;
    expect(stream?.path).toBe('/token');
    expect(stream?.completed).toBe(false);
  });

  it('an access token above 16 KiB (in a token response under the limit) is not stored in the session → login_failed', async () => {
    const h = await harness();
    await expectRefused(h, { sub: 'big-access-token', tokenFields: { access_token: 'A'.repeat(20_000) } }, /access token exceeds 16384 bytes/);
  });

  it('an ID token with 150 claims (at most 100 kept per session) → login_failed, no session', async () => {
    const h = await harness();
    const claims = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`c${i}`, i]));
    await expectRefused(h, { sub: 'many-claims', idToken: { claims } }, /15\d claims \(at most 100\)/);
  });

  describe('UserInfo (userinfo: true)', () => {
    let h: HostileHarness;
    beforeAll(async () => {
      h = await harness({ providerConfig: { userinfo: true } });
    });

    it('a 5 MB UserInfo answer is cut off at 64 KiB → login_failed, no session', async () => {
      await expectRefused(h, { sub: 'huge-userinfo', hugeUserinfo: 5 * 1024 * 1024 }, /userinfo exceeds 65536 bytes/);
      const stream = h.idp.streams.at(-1);
      await stream?.done;
      expect(stream?.path).toBe('/userinfo');
      expect(stream?.completed).toBe(false);
    });

    it('UserInfo under the fetch limit but with 40 KB of claims (at most 32 KiB kept) → login_failed', async () => {
      await expectRefused(h, { sub: 'fat-userinfo', userinfo: { sub: 'fat-userinfo', blob: 'B'.repeat(40_000) } }, /claims of \d+ bytes \(at most 32768\)/);
    });

    it('control: an ordinary UserInfo answer signs in', async () => {
      await h.signIn('userinfo-ok', { userinfo: { sub: 'userinfo-ok', name: 'Ok' } });
    });
  });
});

describe('a provider that times out, refuses connections or answers 5xx → 502 provider_unavailable (documented code)', () => {
  let h: HostileHarness;
  beforeEach(async () => {
    h = await harness({ providerConfig: { timeout: '1s', userinfo: true } });
  });

  for (const path of ['/token', '/jwks', '/userinfo'] as const) {
    it(`docs/oidc.md: a ${path} endpoint that never answers → 502 provider_unavailable after providers[].timeout, no session`, async () => {
      h.idp.hang.add(path);
      const { res, m } = await attempt(h, { sub: `hang-${path.slice(1)}` }, 'fetch');
      expectLoginRefused(res, 'provider_unavailable', 'fetch');
      // A hanging token endpoint never reads the request, so the exchange is not counted there.
      await expectNothingCreated(h, m, { subs: [`hang-${path.slice(1)}`], exchanged: path !== '/token', code: 'provider_unavailable', reason: /timed out/ });
    });
  }

  it('a navigation whose token endpoint never answers is sent to the login page with provider_unavailable', async () => {
    h.idp.hang.add('/token');
    const { res } = await attempt(h, { sub: 'hang-navigation' });
    expectLoginRefused(res, 'provider_unavailable', 'navigation');
  });

  it('RFC 9110 §15.6: a 503 from the token endpoint is provider_unavailable, not login_failed', async () => {
    h.idp.onToken = () => ({ status: 503, body: { error: 'temporarily_unavailable' } });
    const { res, m } = await attempt(h, { sub: 'token-503' }, 'fetch');
    expectLoginRefused(res, 'provider_unavailable', 'fetch');
    await expectNothingCreated(h, m, { subs: ['token-503'], exchanged: true, code: 'provider_unavailable', reason: /answered 503/ });
  });
});

describe('JWKS refresh (docs/oidc.md): one single-flight refetch per unknown kid, rate-limited', () => {
  let h: HostileHarness;
  beforeEach(async () => {
    h = await harness();
    await h.signIn('jwks-warm'); // the key set is cached now
    expect(h.idp.jwksRequests).toBe(1);
  });
  afterEach(() => {
    h.idp.onToken = undefined;
  });

  it('OIDC Core §10.1.1: a key rotated at the provider is accepted at once, with exactly one refetch', async () => {
    await h.idp.rotateKey();
    await h.signIn('after-rotation');
    expect(h.idp.jwksRequests).toBe(2);
    await h.signIn('after-rotation-2');
    expect(h.idp.jwksRequests).toBe(2);
  });

  it('five parallel logins right after a rotation make exactly one JWKS request, and all succeed', async () => {
    const begun = await Promise.all(Array.from({ length: 5 }, () => h.begin()));
    await h.idp.rotateKey();
    const results = await Promise.all(
      begun.map((b, i) => h.callback('hostile', h.query(b, h.code(b, { sub: `parallel-${i}` })), b.txCookie)),
    );
    expect(results.map((r) => r.statusCode)).toEqual([303, 303, 303, 303, 303]);
    expect(results.map((r) => sessionCookiesSet(r).length)).toEqual([1, 1, 1, 1, 1]);
    expect(h.idp.jwksRequests).toBe(2);
  });

  it('five parallel logins once the cached set has aged make exactly one JWKS request', async () => {
    h.gw.clock.advance(JWKS_MAX_AGE_MS + 1000);
    const begun = await Promise.all(Array.from({ length: 5 }, () => h.begin()));
    const results = await Promise.all(begun.map((b, i) => h.callback('hostile', h.query(b, h.code(b, { sub: `aged-${i}` })), b.txCookie)));
    expect(results.map((r) => r.statusCode)).toEqual([303, 303, 303, 303, 303]);
    expect(h.idp.jwksRequests).toBe(2);
  });

  it('a burst of 20 back-channel logout tokens with made-up kids (anyone can post them) costs at most one JWKS request per cooldown', async () => {
    const post = async (kid: string) =>
      h.request({
        method: 'POST',
        url: '/auth/backchannel-logout/hostile',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ logout_token: await h.idp.logoutToken({ sign: 'foreign-key', header: { kid }, claims: { sub: 'jwks-warm' } }) }).toString(),
      });
    const burst = await Promise.all(Array.from({ length: 20 }, () => post(randomUUID())));
    expect(new Set(burst.map((r) => `${r.statusCode} ${r.json().error}`))).toEqual(new Set(['400 invalid_logout_token']));
    expect(h.idp.jwksRequests).toBe(2); // one refetch for the whole burst
    for (let i = 0; i < 5; i++) expect((await post(randomUUID())).statusCode).toBe(400);
    expect(h.idp.jwksRequests).toBe(2); // still inside the cooldown
    // An ID token with an unknown kid inside the cooldown is refused without a request.
    await expectRefused(h, { sub: 'unknown-kid-in-cooldown', idToken: { sign: 'unknown-kid' } }, /no applicable keys|key/i);
    expect(h.idp.jwksRequests).toBe(2);
    // After the cooldown, the next unknown kid may refetch once more.
    h.gw.clock.advance(JWKS_UNKNOWN_KID_COOLDOWN_MS);
    expect((await post(randomUUID())).statusCode).toBe(400);
    expect(h.idp.jwksRequests).toBe(3);
    // The warm session was never ended by any of them.
    expect(await h.gw.gatehouse.store.listByUser('hostile:jwks-warm')).toHaveLength(1);
  });

  it('OWASP ASVS 5.0 V15.2 (a provider outage is not an amplifier): with the JWKS endpoint down, 30 unauthenticated logout posts and a login make one JWKS request per cooldown, not one each; the login gets 502 provider_unavailable', async () => {
    h.idp.failJwks = 1000;
    h.gw.clock.advance(JWKS_MAX_AGE_MS + 1000); // the cached set has aged: the next use must download
    const token = await h.idp.logoutToken({ claims: { sub: 'jwks-warm' } });
    const post = () =>
      h.request({
        method: 'POST',
        url: '/auth/backchannel-logout/hostile',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ logout_token: token }).toString(),
      });
    for (let i = 0; i < 30; i++) {
      const res = await post(); // one after the other: single-flight alone does not bound these
      expect({ status: res.statusCode, error: res.json().error }).toEqual({ status: 400, error: 'invalid_logout_token' });
    }
    expect(h.idp.jwksRequests).toBe(2);
    const { res, m } = await attempt(h, { sub: 'during-jwks-outage' }, 'fetch');
    expectLoginRefused(res, 'provider_unavailable', 'fetch');
    await expectNothingCreated(h, m, { subs: ['during-jwks-outage'], exchanged: true, code: 'provider_unavailable', reason: /JWKS endpoint answered 503/ });
    expect(h.idp.jwksRequests).toBe(2);
    // Once the cooldown is over and the provider is back, the next use downloads once and signs in.
    h.idp.failJwks = 0;
    h.gw.clock.advance(JWKS_FAILURE_COOLDOWN_MS);
    await h.signIn('after-jwks-outage');
    expect(h.idp.jwksRequests).toBe(3);
    expect(await h.gw.gatehouse.store.listByUser('hostile:jwks-warm')).toHaveLength(1);
  });
});

describe.each(SESSION_MODES)('the same checks on refresh (OIDC Core §12.2), session mode %s', (mode) => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await harness({ overrides: withMode(mode) });
  });

  const cases: [string, RefreshAnswer][] = [
    ['a refreshed ID token typed at+jwt', { idToken: { header: { typ: 'at+jwt' } }, expiresIn: 3600 }],
    ['a refreshed ID token whose azp names another party', { idToken: { claims: { azp: 'some-other-client' } }, expiresIn: 3600 }],
    ['a refreshed ID token issued an hour in the future', { idToken: { claims: { iat: Math.floor(Date.now() / 1000) + 3600 } }, expiresIn: 3600 }],
    ['token_type DPoP on refresh', { tokenFields: { token_type: 'DPoP' }, expiresIn: 3600 }],
    ['a refreshed access token above 16 KiB', { tokenFields: { access_token: 'A'.repeat(20_000) }, expiresIn: 3600 }],
  ];
  for (const [name, answer] of cases) {
    it(`${name} ends the session (401); nothing of it is stored`, async () => {
      const sub = `refresh-${name.replace(/\W+/g, '-')}`;
      const cookie = await h.signIn(sub, { expiresIn: 1 });
      h.idp.onRefresh = () => answer;
      const m = mark(h);
      const res = await h.request({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
      expect(h.idp.tokenRequests.at(-1)?.grantType).toBe('refresh_token');
      expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 401, body: { error: 'unauthenticated', message: 'Sign-in required.' } });
      expect(h.sessionWrites.slice(m.writes)).toEqual([]);
      expect(await h.gw.gatehouse.store.listByUser(`hostile:${sub}`)).toEqual([]);
      // Ended, not merely refused once: the same cookie replayed is no session and asks the provider nothing.
      const tokenRequests = h.idp.tokenRequests.length;
      const replay = await h.request({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
      expect(replay.statusCode).toBe(401);
      expect(h.idp.tokenRequests.length).toBe(tokenRequests);
    });
  }
});
