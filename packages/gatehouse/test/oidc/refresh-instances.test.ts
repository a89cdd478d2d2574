/**
 * Single-flight refresh across gateway instances: two gateways share the session store, the key
 * ring and the coordination state, as N instances behind a load balancer do. A burst of requests
 * with a stale access token, split between them, must use the (one-time, rotating) refresh token
 * exactly once. Without the shared lock each instance refreshes on its own and the second use of
 * the rotated refresh token ends the session at the provider.
 */
import type { CustomFetch } from 'openid-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createGatehouse, type Gatehouse } from '../../src/server.js';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { federatedLogin, oidcHarness, type OidcHarness } from '../helpers/oidc.js';
import { deleteKeys } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';

let h: OidcHarness | undefined;
let b: Gatehouse | undefined;
let ownBackend = false;
afterEach(async () => {
  // B shares A's store and coordination unless it opened its own: then it closes them too.
  if (ownBackend) await b?.close();
  else await b?.app.close();
  ownBackend = false;
  await h?.close();
  b = undefined;
  h = undefined;
});

/**
 * A second instance with A's keys, counting its own token requests. With `shared`, it uses A's
 * store and coordination objects; otherwise it opens its own from the config (its own Redis
 * connection), as another process would.
 */
async function secondInstance(a: Gatehouse, clock: () => number, shared = true): Promise<{ gateway: Gatehouse; tokenRequests: () => number }> {
  let calls = 0;
  const fetchCounting = ((url: string | URL, init?: RequestInit) => {
    if (String(url).endsWith('/token')) calls++;
    return fetch(url, init);
  }) as typeof fetch;
  const gateway = await createGatehouse(a.config, {
    clock,
    keys: a.keys,
    ...(shared ? { store: a.store, coordination: a.coordination } : {}),
    logger: false,
    fetch: fetchCounting as unknown as CustomFetch,
  });
  await gateway.app.ready();
  return { gateway, tokenRequests: () => calls };
}

async function burst(shared: boolean): Promise<void> {
  const a = h as OidcHarness;
  const second = await secondInstance(a.gw.gatehouse, a.gw.clock, shared);
  b = second.gateway;
  ownBackend = !shared;
  const { cookie } = await federatedLogin(a);
  const total = () => a.tokenRequests() + second.tokenRequests();
  const before = total();
  const onA = () => a.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
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
}

describe('token refresh across instances', () => {
  it('20 parallel stale requests split over two instances make exactly one token request, and all succeed', async () => {
    h = await oidcHarness({}, { accessTokenTtl: 30 });
    await burst(true);
  });
});

describeWithRedis('token refresh across instances on one Redis', () => {
  const prefix = `gh-test:${runId}:refresh:`;
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix);
  });

  it('two gateways, each with its own Redis connection: one token request for a split burst', async () => {
    h = await oidcHarness({ session: { store: REDIS_URL }, redis: { keyPrefix: prefix } }, { accessTokenTtl: 30 });
    await burst(false);
  });
});
