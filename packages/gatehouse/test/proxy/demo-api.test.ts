// The demo API is a real upstream: it accepts only Gatehouse's internal token, verified against
// the gateway's published JWKS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_API_AUDIENCE, type DemoApi, startDemoApi } from '../../src/demo/api.js';
import { SigningKeyRing } from '../../src/tokens/signing-keys.js';
import { InternalTokenIssuer } from '../../src/tokens/internal.js';
import { login, ORIGIN, type TestGateway, testGateway } from '../helpers/gateway.js';
import { closedPort } from './echo.js';
import type { AddressInfo } from 'node:net';

let gw: TestGateway;
let api: DemoApi;

beforeAll(async () => {
  // The gateway's port is needed by the API (JWKS URL) and the API's by the gateway (upstream).
  const gatewayPort = await closedPort();
  api = await startDemoApi({ issuer: ORIGIN, jwksUrl: `http://127.0.0.1:${gatewayPort}/.well-known/jwks.json` });
  gw = await testGateway(
    { apis: [{ path: '/api/demo', upstream: api.origin, auth: 'required', token: 'internal', audience: DEMO_API_AUDIENCE }] },
    { signingKeys: await SigningKeyRing.inMemory(), clock: Date.now },
  );
  await gw.gatehouse.app.listen({ host: '127.0.0.1', port: gatewayPort });
  expect((gw.gatehouse.app.server.address() as AddressInfo).port).toBe(gatewayPort);
});
afterAll(async () => {
  await gw.close();
  await api.close();
});

describe('demo API upstream', () => {
  it('/api/demo/hello through the gateway greets the signed-in user', async () => {
    const cookie = await login(gw, 'alice');
    const res = await gw.inject({ url: '/api/demo/hello', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ message: 'Hello, Alice!', user: { username: 'alice', roles: ['user'] }, token: { iss: ORIGIN, aud: DEMO_API_AUDIENCE, client_id: 'gatehouse' } });
    expect((await gw.inject({ url: '/api/demo/hello' })).statusCode).toBe(401);
  });

  it('called directly, it refuses no token and a token signed by another key', async () => {
    expect((await fetch(`${api.origin}/hello`)).status).toBe(401);
    const stranger = new InternalTokenIssuer({ keys: await SigningKeyRing.inMemory(), issuer: ORIGIN, lifetimeMs: 60_000, clock: Date.now });
    const forged = await stranger.token(
      { id: 's', userId: 'u', user: { id: 'u', roles: ['admin'] }, provider: 'local', createdAt: 0, lastSeenAt: 0, idleExpiresAt: 0, expiresAt: 0, client: {} },
      DEMO_API_AUDIENCE,
    );
    const res = await fetch(`${api.origin}/hello`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
  });
});
