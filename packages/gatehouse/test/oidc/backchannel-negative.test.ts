import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { StoreUnavailableError } from '../../src/errors.js';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { BACKCHANNEL_EVENT, type HostileHarness, hostileHarness, type JwtSpec } from '../helpers/hostile-provider.js';

/**
 * OIDC Back-Channel Logout 1.0 §2.6 against a hostile provider: every bad logout token gets
 * 400 invalid_logout_token with Cache-Control: no-store and ends NOTHING; valid ones end exactly
 * the sessions they name. The provider posts with no cookies and no Origin (server to server).
 */

let h: HostileHarness;
beforeAll(async () => {
  h = await hostileHarness();
});
afterAll(async () => h?.close());

function post(token: string | undefined, provider = 'hostile', extraBody: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const body = new URLSearchParams(extraBody);
  if (token !== undefined) body.set('logout_token', token);
  return h.gw.inject({
    method: 'POST',
    url: `/auth/backchannel-logout/${provider}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: body.toString(),
  });
}

/** A live session for `sub` at `provider` (ID token with `sid` when given); returns its cookie. */
function signIn(sub: string, sid?: string, provider = 'hostile'): Promise<string> {
  return h.signIn(sub, sid ? { idToken: { claims: { sid } } } : {}, provider);
}

async function alive(cookie: string): Promise<boolean> {
  const res = await h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
  return res.statusCode === 200;
}

const logoutToken = (spec: JwtSpec = {}) => h.idp.logoutToken(spec);

function expectInvalid(res: LightMyRequestResponse, reason?: RegExp): void {
  expect(res.statusCode).toBe(400);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json() as { error: string; message: string };
  expect(body.error).toBe('invalid_logout_token');
  expect(body.message).toMatch(/^Invalid logout token/);
  if (reason) expect(body.message).toMatch(reason);
  expect(res.headers['set-cookie']).toBeUndefined();
}

/** Wall-clock seconds: the gateway checks logout tokens against the wall clock. */
const now = () => Math.floor(Date.now() / 1000);

describe('bad logout tokens: 400 invalid_logout_token, no-store, nothing ended', () => {
  const cases: [string, (sub: string, sid: string) => JwtSpec | Promise<string>, RegExp?][] = [
    ['bad signature (a key not in the JWKS, under the published kid)', (sub) => ({ claims: { sub }, sign: 'foreign-key' }), /signature/],
    ['signed by an unknown key (kid not in the JWKS)', (sub) => ({ claims: { sub }, sign: 'unknown-kid' })],
    ['alg none', (sub) => ({ claims: { sub }, sign: 'none', header: { typ: 'logout+jwt' } })],
    ['HS256 keyed with the client secret', (sub) => ({ claims: { sub }, sign: 'hs256-client-secret', header: { typ: 'logout+jwt' } })],
    ['wrong iss', (sub) => ({ claims: { sub, iss: 'https://evil.example' } }), /iss/],
    ['iss of the other configured provider', (sub) => ({ claims: { sub, iss: h.other.issuer } }), /iss/],
    ['wrong aud', (sub) => ({ claims: { sub, aud: 'another-client' } }), /aud/],
    ['aud missing', (sub) => ({ claims: { sub, aud: undefined } }), /aud/],
    ['iat missing', (sub) => ({ claims: { sub, iat: undefined } }), /iat/],
    ['expired (exp 1 minute ago)', (sub) => ({ claims: { sub, iat: now() - 300, exp: now() - 60 } }), /exp/],
    ['issued 11 minutes ago (older than the 10-minute window), exp still in the future', (sub) => ({ claims: { sub, iat: now() - 660, exp: now() + 600 } }), /iat/],
    ['issued 10 minutes in the future', (sub) => ({ claims: { sub, iat: now() + 600, exp: now() + 720 } }), /iat/],
    ['events claim missing', (sub) => ({ claims: { sub, events: undefined } })],
    ['events naming another event', (sub) => ({ claims: { sub, events: { 'http://schemas.openid.net/event/other': {} } } }), /event/],
    ['events member not an object (a string)', (sub) => ({ claims: { sub, events: { [BACKCHANNEL_EVENT]: 'logout' } } }), /event/],
    ['typ JWT instead of logout+jwt', (sub) => ({ claims: { sub }, header: { typ: 'JWT' } }), /typ/],
    ['typ of an access token (at+jwt)', (sub) => ({ claims: { sub }, header: { typ: 'at+jwt' } }), /typ/],
    ['nonce present', (sub) => ({ claims: { sub, nonce: 'n-0S6_WzA2Mj' } }), /nonce/],
    ['neither sub nor sid', () => ({ claims: {} }), /neither sub nor sid/],
    ['jti missing', (sub) => ({ claims: { sub, jti: undefined } }), /jti/],
    // Cross-JWT confusion (§4.1): an ID token of the user, validly signed, is not a logout token.
    ['an ID token of the user, validly signed', (sub) => h.idp.idToken(sub, 'some-nonce')],
    // A valid logout token of the OTHER provider, posted to this provider's endpoint.
    ['a valid logout token of the other provider', (sub) => h.other.logoutToken({ claims: { sub } })],
    ['not a JWT at all', () => Promise.resolve('not-a-jwt')],
    ['a JWE-shaped value', () => Promise.resolve('eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc')],
  ];

  for (const [name, make, reason] of cases) {
    it(name, async () => {
      const sub = `bcl-${name.replace(/\W+/g, '-').slice(0, 40)}`;
      const sid = `sid-${sub}`;
      const cookie = await signIn(sub, sid);
      const made = make(sub, sid);
      const token = typeof (made as Promise<string>).then === 'function' ? await (made as Promise<string>) : await logoutToken(made as JwtSpec);
      const logs = h.logs.length;
      const res = await post(token);
      expectInvalid(res, reason);
      expect(await h.gw.gatehouse.store.listByUser(`hostile:${sub}`)).toHaveLength(1);
      expect(await alive(cookie)).toBe(true);
      expect(h.logs.slice(logs).filter((l) => l.event === 'backchannel_logout')).toEqual([]);
    });
  }

  it('logout_token missing from the body', async () => {
    const cookie = await signIn('bcl-missing');
    expectInvalid(await post(undefined, 'hostile', { token: 'x' }), /logout_token is missing/);
    expectInvalid(await post(''), /logout_token is missing/);
    expect(await alive(cookie)).toBe(true);
  });

  // Back-Channel Logout 1.0 (final, 2022) §2.4 makes `exp` REQUIRED, and §2.6 says to validate
  // iat and exp as for ID tokens; the verifier requires only iat, jti and events.
  it('exp missing', async () => {
    const cookie = await signIn('bcl-no-exp');
    expectInvalid(await post(await logoutToken({ claims: { sub: 'bcl-no-exp', exp: undefined } })));
    expect(await alive(cookie)).toBe(true);
  });

  // §2.4: the member's value MUST be a JSON object; `typeof null === 'object'` lets null through.
  it('events member null', async () => {
    const cookie = await signIn('bcl-null-event');
    expectInvalid(await post(await logoutToken({ claims: { sub: 'bcl-null-event', events: { [BACKCHANNEL_EVENT]: null } } })));
    expect(await alive(cookie)).toBe(true);
  });

  it('a valid token posted to an unknown provider → 404 unknown_provider, nothing ended', async () => {
    const cookie = await signIn('bcl-unknown-provider');
    const res = await post(await logoutToken({ claims: { sub: 'bcl-unknown-provider' } }), 'nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'unknown_provider', message: 'No such sign-in provider.' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await alive(cookie)).toBe(true);
  });

  it('a valid hostile token posted to the OTHER provider endpoint → 400, and the user’s session at "other" stays', async () => {
    const atHostile = await signIn('bcl-crossed');
    const atOther = await signIn('bcl-crossed', undefined, 'other');
    expectInvalid(await post(await logoutToken({ claims: { sub: 'bcl-crossed' } }), 'other'));
    expect(await alive(atHostile)).toBe(true);
    expect(await alive(atOther)).toBe(true);
  });
});

describe('replay', () => {
  it('jti replayed: the first token is accepted and ends the session; the identical second one → 400 and ends nothing', async () => {
    const first = await signIn('bcl-replay');
    const token = await logoutToken({ claims: { sub: 'bcl-replay' } });
    const accepted = await post(token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.headers['cache-control']).toBe('no-store');
    expect(await alive(first)).toBe(false);
    expect(await h.gw.gatehouse.store.listByUser('hostile:bcl-replay')).toEqual([]);
    // The user signs in again; the replayed token must not end the new session.
    const second = await signIn('bcl-replay');
    expectInvalid(await post(token), /jti replayed/);
    expect(await alive(second)).toBe(true);
  });

  it('a store failure while ending the sessions does not burn the jti: the provider\'s retry of the same token succeeds', async () => {
    const cookie = await signIn('bcl-retry');
    const token = await logoutToken({ claims: { sub: 'bcl-retry' } });
    const store = h.gw.gatehouse.store as { listByUser: (userId: string) => Promise<unknown> };
    const real = store.listByUser;
    // The store is unreachable for this one delivery (a Redis blip): 503, nothing ended.
    store.listByUser = async () => {
      throw new StoreUnavailableError(new Error('simulated outage'));
    };
    try {
      const failed = await post(token);
      expect(failed.statusCode).toBe(503);
      expect(failed.json()).toMatchObject({ error: 'store_unavailable' });
    } finally {
      store.listByUser = real;
    }
    expect(await alive(cookie)).toBe(true);
    // OIDC Back-Channel Logout §2.8: the provider retries; the same token is accepted this time.
    expect((await post(token)).statusCode).toBe(200);
    expect(await alive(cookie)).toBe(false);
    expectInvalid(await post(token), /jti replayed/);
  });

  it('the same jti in a freshly signed token is also a replay', async () => {
    const first = await signIn('bcl-jti');
    const jti = 'fixed-jti-123';
    expect((await post(await logoutToken({ claims: { sub: 'bcl-jti', jti } }))).statusCode).toBe(200);
    expect(await alive(first)).toBe(false);
    const second = await signIn('bcl-jti');
    expectInvalid(await post(await logoutToken({ claims: { sub: 'bcl-jti', jti } })), /jti replayed/);
    expect(await alive(second)).toBe(true);
  });
});

describe('valid logout tokens end exactly what they name', () => {
  it('sub: every session of that user from that provider; another user, and the same sub at another provider, stay', async () => {
    const a1 = await signIn('bcl-sub-a', 'sid-a1');
    const a2 = await signIn('bcl-sub-a', 'sid-a2');
    const b = await signIn('bcl-sub-b', 'sid-b');
    const aAtOther = await signIn('bcl-sub-a', 'sid-a1', 'other');
    const logs = h.logs.length;
    const res = await post(await logoutToken({ claims: { sub: 'bcl-sub-a' } }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await h.gw.gatehouse.store.listByUser('hostile:bcl-sub-a')).toEqual([]);
    expect(await alive(a1)).toBe(false);
    expect(await alive(a2)).toBe(false);
    expect(await alive(b)).toBe(true);
    expect(await alive(aAtOther)).toBe(true);
    expect(await h.gw.gatehouse.store.listByUser('other:bcl-sub-a')).toHaveLength(1);
    expect(h.logs.slice(logs).filter((l) => l.event === 'backchannel_logout').map((l) => [l.provider, l.ended])).toEqual([['hostile', 2]]);
  });

  it('sid only: ends only the session with that sid', async () => {
    const s1 = await signIn('bcl-sid', 'sid-one');
    const s2 = await signIn('bcl-sid', 'sid-two');
    const otherUser = await signIn('bcl-sid-other', 'sid-three');
    const res = await post(await logoutToken({ claims: { sid: 'sid-one' } }));
    expect(res.statusCode).toBe(200);
    expect(await alive(s1)).toBe(false);
    expect(await alive(s2)).toBe(true);
    expect(await alive(otherUser)).toBe(true);
    const left = await h.gw.gatehouse.store.listByUser('hostile:bcl-sid');
    expect(left.map((r) => (r.data?.oidc as { sid?: string }).sid)).toEqual(['sid-two']);
  });

  it('sub + sid: ends only that session of that user; a sid with the wrong sub ends nothing', async () => {
    const s1 = await signIn('bcl-subsid', 'ss-one');
    const s2 = await signIn('bcl-subsid', 'ss-two');
    const mismatch = await post(await logoutToken({ claims: { sub: 'someone-else', sid: 'ss-one' } }));
    expect(mismatch.statusCode).toBe(200);
    expect(await alive(s1)).toBe(true);
    expect(await alive(s2)).toBe(true);
    const res = await post(await logoutToken({ claims: { sub: 'bcl-subsid', sid: 'ss-two' } }));
    expect(res.statusCode).toBe(200);
    expect(await alive(s1)).toBe(true);
    expect(await alive(s2)).toBe(false);
  });

  it('a valid token for a user with no session → 200, nothing ended', async () => {
    const bystander = await signIn('bcl-bystander');
    const logs = h.logs.length;
    const res = await post(await logoutToken({ claims: { sub: 'nobody-here' } }));
    expect(res.statusCode).toBe(200);
    expect(await alive(bystander)).toBe(true);
    expect(h.logs.slice(logs).filter((l) => l.event === 'backchannel_logout').map((l) => l.ended)).toEqual([0]);
  });

  it('typ may be omitted (explicit typing is recommended, not required)', async () => {
    const cookie = await signIn('bcl-untyped');
    const res = await post(await logoutToken({ claims: { sub: 'bcl-untyped' }, header: { typ: undefined } }));
    expect(res.statusCode).toBe(200);
    expect(await alive(cookie)).toBe(false);
  });
});
