// The apis, internalTokens and serviceClient sections: every unsafe or ambiguous entry refused at
// start-up, each problem naming its key, all at once.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { login, SITE, testConfigInput, testGateway } from '../helpers/gateway.js';
import { closedPort } from './echo.js';

function problems(overrides: Partial<GatehouseConfigInput>): { key: string; message: string }[] {
  try {
    resolveConfig(testConfigInput(overrides), { baseDir: SITE, env: {} });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...error.problems];
  }
}

const UP = 'http://127.0.0.1:4000';

describe('apis config', () => {
  it('a valid set of routes passes, with defaults filled', () => {
    const config = resolveConfig(testConfigInput({ apis: [{ path: '/api/orders', upstream: UP, token: 'internal', audience: 'orders' }] }), { baseDir: SITE, env: {} });
    expect(config.apis[0]).toMatchObject({ auth: 'required', timeout: 30_000, forwardCookies: [], allowSetCookie: false, websocket: false });
    expect(config.internalTokens).toEqual({ lifetime: 300_000, algorithm: 'ES256' });
  });

  it('refuses every bad entry at once, naming each key', () => {
    const found = problems({
      apis: [
        { path: '/api/a', upstream: 'ftp://x.example' },
        { path: '/api/a', upstream: UP },
        { path: '/auth/x', upstream: UP },
        { path: '/files/x', upstream: UP },
        { path: '/api/b/', upstream: UP },
        { path: '/.well-known/x', upstream: UP },
        { path: '/api/c', upstream: 'not a url' },
        { path: '/api/d', upstream: 'http://user:pw@127.0.0.1:4000' },
        { path: '/api/e', upstream: UP, auth: 'none', token: 'internal', audience: 'x' },
        { path: '/api/f', upstream: UP, token: 'user' },
        { path: '/api/g', upstream: UP, token: 'internal' },
        { path: '/api/h', upstream: UP, token: 'client-credentials' },
        { path: '/api/i', upstream: UP, auth: 'optional', roles: ['admin'] },
        { path: '/api/j', upstream: UP, forwardCookies: ['theme', '__Host-gatehouse', '__Host-gatehouse-login'] },
        { path: '/', upstream: UP },
      ],
      internalTokens: { lifetime: '2h' },
    });
    const keys = found.map((p) => p.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'apis[0].upstream',
        'apis[1].path',
        'apis[2].path',
        'apis[3].path',
        'apis[4].path',
        'apis[5].path',
        'apis[6].upstream',
        'apis[7].upstream',
        'apis[8].token',
        'apis[9].token',
        'apis[10].audience',
        'apis[11].token',
        'apis[12].roles',
        'apis[13].forwardCookies[1]',
        'apis[13].forwardCookies[2]',
        'apis[14].path',
        'internalTokens.lifetime',
      ]),
    );
    expect(keys).not.toContain('apis[13].forwardCookies[0]');
    expect(found.find((p) => p.key === 'apis[1].path')?.message).toContain('apis[0]');
    expect(found.find((p) => p.key === 'apis[9].token')?.message).toContain('no providers');
  });

  it('unknown keys and dot segments in a route are refused by the schema', () => {
    expect(problems({ apis: [{ path: '/api/a', upstream: UP, allowSetCookies: true } as never] }).map((p) => p.key)).toContain('apis[0].allowSetCookies');
    expect(problems({ apis: [{ path: '/api/../k', upstream: UP }] }).map((p) => p.key)).toEqual(['apis[0].path']);
  });

  it('serviceClient: https only, loopback http with allowHttpIssuer', () => {
    const base = { clientId: 'svc', clientSecret: 'a-secret' };
    expect(problems({ serviceClient: { ...base, issuer: 'http://idp.example' } }).map((p) => p.key)).toEqual(['serviceClient.issuer']);
    expect(problems({ serviceClient: { ...base, issuer: 'http://127.0.0.1:9000', allowHttpIssuer: true } })).toEqual([]);
  });
});

describe('apis config: nesting and anonymous service identity', () => {
  it('refuses a route nested in another (its rules could be bypassed through the outer one)', () => {
    const found = problems({ apis: [{ path: '/api/pub', upstream: UP, auth: 'none' }, { path: '/api/pub/admin', upstream: UP, roles: ['admin'] }] });
    expect(found.map((p) => p.key)).toEqual(['apis[1].path']);
    expect(found[0]?.message).toMatch(/inside apis\[0\]\.path "\/api\/pub"/);
    expect(problems({ apis: [{ path: '/api/pub', upstream: UP, auth: 'none' }, { path: '/api/public-admin', upstream: UP }] })).toEqual([]);
  });

  it('refuses client-credentials on an anonymous route', () => {
    const found = problems({
      apis: [{ path: '/api/r', upstream: UP, auth: 'none', token: 'client-credentials' }],
      serviceClient: { issuer: 'https://login.example.com', clientId: 'svc', clientSecret: 'a-secret' },
    });
    expect(found.map((p) => p.key)).toEqual(['apis[0].token']);
    expect(found[0]?.message).toMatch(/anonymous callers/);
  });
});

describe('client credentials provider down', () => {
  it('502 upstream_token_unavailable; the upstream sees nothing', async () => {
    const port = await closedPort();
    const gw = await testGateway({
      apis: [{ path: '/api/r', upstream: `http://127.0.0.1:${await closedPort()}`, auth: 'required', token: 'client-credentials' }],
      serviceClient: { issuer: `http://127.0.0.1:${port}`, clientId: 'svc', clientSecret: 'a-secret', allowHttpIssuer: true },
    });
    try {
      const res = await gw.inject({ url: '/api/r/x', headers: { cookie: await login(gw) } });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({ error: 'upstream_token_unavailable' });
    } finally {
      await gw.close();
    }
  });
});
