// token "user" (the OIDC access token, refreshed single-flight) and token "client-credentials"
// (Gatehouse's own token), against a real oidc-provider and the echo upstream.
import type { Configuration } from 'oidc-provider';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, SAME_ORIGIN } from '../helpers/gateway.js';
import { federatedLogin, type OidcHarness, oidcHarness } from '../helpers/oidc.js';
import { closedPort, type Echo, startEcho } from './echo.js';

const SERVICE_ID = 'gatehouse-service';
const SERVICE_SECRET = 'a-long-service-client-secret-0123456789';

/** Adds a client-credentials client and JWT access tokens for resource indicators. */
function serviceClient(configuration: Configuration): void {
  configuration.clients = [
    ...(configuration.clients ?? []),
    { client_id: SERVICE_ID, client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
  ];
  configuration.features = {
    ...configuration.features,
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:default',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => ({ scope: 'reports:read', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
    },
  };
}

let h: OidcHarness;
let echo: Echo;

beforeAll(async () => {
  echo = await startEcho();
  // The service client's issuer must be known before the gateway is built: pick the provider's port.
  const port = await closedPort();
  h = await oidcHarness(
    {
      apis: [
        { path: '/api/user', upstream: echo.origin, auth: 'required', token: 'user' },
        { path: '/api/reports', upstream: echo.origin, auth: 'required', token: 'client-credentials', audience: 'urn:reports' },
        { path: '/api/service', upstream: echo.origin, auth: 'required', token: 'client-credentials', audience: 'urn:service' },
      ],
      serviceClient: { issuer: `http://127.0.0.1:${port}`, clientId: SERVICE_ID, clientSecret: SERVICE_SECRET, allowHttpIssuer: true, scopes: ['reports:read'] },
    },
    { port, configure: serviceClient },
  );
});
afterAll(async () => {
  await h?.close();
  await echo.close();
});

const bearer = (res: { json(): { headers: Record<string, string> } }) => String(res.json().headers.authorization ?? '').replace(/^Bearer /, '');

describe('token "user"', () => {
  it('sends the session\'s provider access token, not the client\'s', async () => {
    const { cookie } = await federatedLogin(h, 'ada');
    const res = await h.gw.inject({ url: '/api/user/me', headers: { cookie, authorization: 'Bearer client-chosen' } });
    expect(res.statusCode).toBe(200);
    const token = bearer(res);
    expect(token).not.toBe('client-chosen');
    // With resource indicators on, the provider issues JWT access tokens (for its default resource).
    expect(decodeJwt(token)).toMatchObject({ sub: 'ada', client_id: 'gatehouse-test', iss: h.idp.issuer });
    expect(res.json().headers.cookie).toBeUndefined();
  });

  it('refreshes an expiring token once for concurrent requests (single-flight) and forwards the new one', async () => {
    const { cookie } = await federatedLogin(h, 'ada');
    const first = bearer(await h.gw.inject({ url: '/api/user/1', headers: { cookie } }));
    h.gw.clock.advance(600_000);
    const before = h.tokenRequests();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => h.gw.inject({ url: `/api/user/${i}`, headers: { cookie } })));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(h.tokenRequests() - before).toBe(1);
    const tokens = new Set(answers.map(bearer));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(first);
  });

  it('a local-account session has no access token: 403 federated_session_required, nothing forwarded', async () => {
    const cookie = await login(h.gw, 'alice');
    const before = echo.seen.length;
    const res = await h.gw.inject({ url: '/api/user/me', headers: { cookie } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'federated_session_required' });
    expect(echo.seen.length).toBe(before);
  });
});

describe('token "client-credentials"', () => {
  it('sends Gatehouse\'s own token for the route\'s audience, cached across requests', async () => {
    const cookie = await login(h.gw, 'bob');
    const before = h.tokenRequests();
    const a = await h.gw.inject({ url: '/api/reports/q', headers: { cookie, authorization: 'Bearer client-chosen' } });
    const b = await h.gw.inject({ method: 'POST', url: '/api/reports/q', headers: { ...SAME_ORIGIN, cookie, 'content-type': 'application/json' }, payload: '{}' });
    expect(a.statusCode).toBe(200);
    expect(bearer(a)).toBe(bearer(b));
    expect(h.tokenRequests() - before).toBe(1);
    const claims = decodeJwt(bearer(a));
    expect(claims).toMatchObject({ client_id: SERVICE_ID, aud: 'urn:reports', scope: 'reports:read' });
    expect(claims.sub).toBe(SERVICE_ID);
  });

  it('another audience gets its own token; a session route still needs the session', async () => {
    expect((await h.gw.inject({ url: '/api/service/x' })).statusCode).toBe(401);
    const cookie = await login(h.gw, 'alice');
    const res = await h.gw.inject({ url: '/api/service/x', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(decodeJwt(bearer(res)).aud).toBe('urn:service');
    expect(res.json().headers['x-gatehouse-user']).toBeTruthy();
  });

  it('is renewed near expiry', async () => {
    const cookie = await login(h.gw, 'bob');
    const first = bearer(await h.gw.inject({ url: '/api/reports/q', headers: { cookie } }));
    h.gw.clock.advance(280_000);
    const second = bearer(await h.gw.inject({ url: '/api/reports/q', headers: { cookie } }));
    expect(second).not.toBe(first);
  });
});
