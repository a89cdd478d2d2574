import { afterEach, describe, expect, it } from 'vitest';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { federatedLogin, oidcHarness, type OidcHarness } from '../helpers/oidc.js';

let h: OidcHarness;
afterEach(async () => h?.close());

describe('federated sign-in against a real oidc-provider', () => {
  it('logs in with code + PKCE and lands on returnTo with a fresh session; no token reaches the browser', async () => {
    h = await oidcHarness();
    const { cookie, location } = await federatedLogin(h, 'ada', '/dashboard?tab=1');
    expect(location).toBe('/dashboard?tab=1');
    const res = await h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toEqual({ id: 'test:ada', username: 'ada', name: 'Ada Lovelace', email: 'ada@example.test', roles: ['admin', 'user'] });
    expect(body.provider).toBe('test');
    expect(res.body).not.toMatch(/eyJ/); // no JWT of any kind in what the browser gets
  });
});
