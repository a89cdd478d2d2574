/**
 * Single-flight refresh across gateway instances: two gateways share the session store, the key
 * ring and the coordination state, as N instances behind a load balancer do. A burst of requests
 * with a stale access token, split between them, must use the (one-time, rotating) refresh token
 * exactly once. Without the shared lock each instance refreshes on its own and the second use of
 * the rotated refresh token ends the session at the provider.
 */
import type { CustomFetch } from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createGatehouse, type Gatehouse } from '../../src/server.js';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { federatedLogin, oidcHarness, type OidcHarness } from '../helpers/oidc.js';

let h: OidcHarness | undefined;
let b: Gatehouse | undefined;
afterEach(async () => {
  // B shares A's store and coordination: close only B's app, then A closes the shared parts.
  await b?.app.close();
  await h?.close();
  b = undefined;
  h = undefined;
});

/** A second instance over A's store, keys and coordination, counting its own token requests. */
async function secondInstance(a: Gatehouse, clock: () => number): Promise<{ gateway: Gatehouse; tokenRequests: () => number }> {
  let calls = 0;
  const fetchCounting = ((url: string | URL, init?: RequestInit) => {
    if (String(url).endsWith('/token')) calls++;
    return fetch(url, init);
  }) as typeof fetch;
  const gateway = await createGatehouse(a.config, {
    clock,
    keys: a.keys,
    store: a.store,
    coordination: a.coordination,
    logger: false,
    fetch: fetchCounting as unknown as CustomFetch,
  });
  await gateway.app.ready();
  return { gateway, tokenRequests: () => calls };
}

describe('token refresh across instances', () => {
  it('20 parallel stale requests split over two instances make exactly one token request, and all succeed', async () => {
    h = await oidcHarness({}, { accessTokenTtl: 30 });
    const second = await secondInstance(h.gw.gatehouse, h.gw.clock);
    b = second.gateway;
    const { cookie } = await federatedLogin(h);
    const total = () => (h as OidcHarness).tokenRequests() + second.tokenRequests();
    const before = total();
    const onA = () => (h as OidcHarness).gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
    const onB = () => second.gateway.app.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
    // The access token (30 s) is already inside the 60 s refresh window: every request wants a refresh.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? onA() : onB())));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(total() - before).toBe(1);
    // The rotated refresh token reached the shared store: B refreshes next time with the new one.
    const again = await Promise.all(Array.from({ length: 6 }, () => onB()));
    expect(again.map((r) => r.statusCode)).toEqual(Array(6).fill(200));
    expect(total() - before).toBe(2);
    expect(second.tokenRequests()).toBeGreaterThanOrEqual(1);
  });
});
