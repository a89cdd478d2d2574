import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatehouse } from '../../src/start.js';
import { resolveConfig } from '../../src/config/load.js';
import type { Gatehouse } from '../../src/server.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { ORIGIN, SITE, testConfigInput } from '../helpers/gateway.js';
import {
  expectLoginRefused,
  expectNothingCreated,
  FETCH,
  type HostileHarness,
  hostileHarness,
  HostileProvider,
  hostileProviderConfig,
  mark,
} from '../helpers/hostile-provider.js';
import { NAVIGATE } from '../helpers/oidc.js';

/**
 * A provider that is down, flaky, or misconfigured: 502 provider_unavailable for that sign-in,
 * the rest of the gateway keeps serving, and the next attempt retries discovery (no restart).
 */

/** A loopback port with nothing listening on it (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const UNAVAILABLE = { error: 'provider_unavailable', message: 'The sign-in provider cannot be reached. Try again shortly.' };

let h: HostileHarness | undefined;
const extra: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const resource of extra.splice(0)) await resource.close();
});

describe('unreachable provider', () => {
  it('login start → 502 provider_unavailable; the gateway keeps serving; once the provider is up the next login works', async () => {
    const port = await closedPort();
    const down = { id: 'down', issuer: `http://127.0.0.1:${port}`, clientId: 'gatehouse-hostile', clientSecret: 'hostile-client-secret-0123456789abcdef', allowHttpIssuer: true };
    h = await hostileHarness({ extraProviders: [down] });
    const gw = h.gw;

    const refused = await gw.inject({ method: 'GET', url: '/auth/login?provider=down&returnTo=%2Fx', headers: FETCH });
    expect(refused.statusCode).toBe(502);
    expect(refused.json()).toEqual(UNAVAILABLE);
    expect(refused.headers['set-cookie']).toBeUndefined(); // no transaction for a login that did not start

    // The rest of the gateway is unaffected.
    expect((await gw.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const providers = await gw.inject({ method: 'GET', url: '/auth/providers', headers: FETCH });
    expect(providers.statusCode).toBe(200);
    expect(providers.json().providers.map((p: { id: string }) => p.id)).toEqual(['hostile', 'other', 'down']);
    expect((await gw.inject({ method: 'GET', url: '/auth/login?provider=hostile', headers: NAVIGATE })).statusCode).toBe(302);
    await h.signIn('still-working');

    // The provider comes up on that port: the next attempt discovers it, without a restart.
    const up = await HostileProvider.start({ port, redirectUri: `${ORIGIN}/auth/callback/down` });
    extra.push(up);
    const start = await gw.inject({ method: 'GET', url: '/auth/login?provider=down&returnTo=%2Fback', headers: NAVIGATE });
    expect(start.statusCode).toBe(302);
    const authorization = new URL(start.headers.location as string);
    expect(authorization.origin).toBe(up.issuer);
    const txCookie = String(start.headers['set-cookie']).split(';', 1)[0] as string;
    const code = up.issueCode(
      { codeChallenge: authorization.searchParams.get('code_challenge') as string, nonce: authorization.searchParams.get('nonce') as string },
      { sub: 'came-back' },
    );
    const query = new URLSearchParams({ code, state: authorization.searchParams.get('state') as string, iss: up.issuer });
    const callback = await gw.inject({ method: 'GET', url: `/auth/callback/down?${query}`, headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site', cookie: txCookie } });
    expect(callback.statusCode).toBe(303);
    expect(callback.headers.location).toBe('/back');
    expect(await gw.gatehouse.store.listByUser('down:came-back')).toHaveLength(1);
  });

  it('a provider whose discovery fails once: 502, then the next login succeeds (discovery retried, not cached as failed)', async () => {
    h = await hostileHarness({ configure: (idp) => { idp.failDiscovery = 1; } });
    const first = await h.gw.inject({ method: 'GET', url: '/auth/login?provider=hostile', headers: FETCH });
    expect(first.statusCode).toBe(502);
    expect(first.json()).toEqual(UNAVAILABLE);
    expect(h.idp.discoveryRequests).toBe(1);
    await h.signIn('after-retry');
    expect(h.idp.discoveryRequests).toBe(2);
    expect(await h.gw.gatehouse.store.listByUser('hostile:after-retry')).toHaveLength(1);
  });

  it('the token endpoint is unreachable at the callback → provider_unavailable (303 for a navigation, 502 JSON for fetch), no session', async () => {
    const port = await closedPort();
    h = await hostileHarness({ configure: (idp) => { idp.metadata = { token_endpoint: `http://127.0.0.1:${port}/token` }; } });
    const hh = h;
    for (const style of ['navigation', 'fetch'] as const) {
      const m = mark(hh);
      const begun = await hh.begin();
      const res = await hh.callback('hostile', hh.query(begun, hh.code(begun, { sub: `tokens-down-${style}` })), begun.txCookie, style === 'fetch' ? FETCH : undefined);
      expectLoginRefused(res, 'provider_unavailable', style);
      // exchanged: false — the request never reached a token endpoint that counts it.
      await expectNothingCreated(hh, m, { subs: [`tokens-down-${style}`], exchanged: false, code: 'provider_unavailable', reason: /fetch failed|ECONNREFUSED/ });
    }
  });
});

describe('discovery names another issuer', () => {
  it('login → 502 provider_unavailable; the error says which issuer was announced and which was configured', async () => {
    h = await hostileHarness({ configure: (idp) => { idp.metadata = { issuer: `${idp.issuer}/elsewhere` }; } });
    const res = await h.gw.inject({ method: 'GET', url: '/auth/login?provider=hostile', headers: FETCH });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual(UNAVAILABLE); // the browser learns nothing about the configuration
    const provider = h.gw.gatehouse.providers.get('hostile');
    const error = await provider?.client().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string; cause?: unknown },
    );
    expect(error?.code).toBe('provider_unavailable');
    expect(error?.message).toContain(`announces the issuer "${h.idp.issuer}/elsewhere", not the configured "${h.idp.issuer}"`);
    expect((error?.cause as { code?: string }).code).toBe('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED');
    // Still no session could ever start: a second attempt (a person clicking the button) is sent
    // back to the login page with the code, not shown a JSON error.
    const again = await h.gw.inject({ method: 'GET', url: '/auth/login?provider=hostile', headers: NAVIGATE });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe('/?login_error=provider_unavailable');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('the gateway log explains the mismatch at start-up', async () => {
    const idp = await HostileProvider.start();
    extra.push(idp);
    idp.metadata = { issuer: 'https://idp.example/' };
    const logs: Record<string, unknown>[] = [];
    const config = resolveConfig(testConfigInput({ local: { enabled: false }, providers: [hostileProviderConfig(idp, 'hostile')] as never }), {
      baseDir: SITE,
      env: {},
    });
    const gatehouse: Gatehouse = await startGatehouse(config, {
      keys: createKeyRing([generateKey()]),
      logger: { level: 'info', stream: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) } },
    });
    extra.push(gatehouse);
    await expect.poll(() => logs.find((l) => l.provider === 'hostile')?.msg, { timeout: 5000 }).toContain('announces the issuer "https://idp.example/"');
    const line = logs.find((l) => l.provider === 'hostile');
    expect(line?.level).toBe(40); // warn
    expect(String(line?.msg)).toContain(`not the configured "${idp.issuer}"`);
  });
});
