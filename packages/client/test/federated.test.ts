// Federated sign-in and sign-out through a real OpenID provider (oidc-provider) and a real gateway.
// The client only navigates; the test plays the browser's part of those navigations.
import { afterEach, describe, expect, it } from 'vitest';
import { authorizeAtProvider, type OidcHarness, oidcHarness } from '../../gatehouse/test/helpers/oidc.js';
import { createGatehouseClient, isSameOriginPath, type SignedOutEvent } from '../src/index.js';
import { testBrowser } from './helpers/browser.js';

let harness: OidcHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('federated sign-in', () => {
  it('login({ provider }) navigates through the gateway and back to returnTo; logout() goes to the provider', async () => {
    harness = await oidcHarness();
    const browser = testBrowser(harness.gw);
    const navigations: string[] = [];
    const client = createGatehouseClient({ fetch: browser.fetch, navigate: (url) => navigations.push(url) });

    expect(await client.providers()).toEqual({
      local: true,
      providers: [{ id: 'test', name: 'Test IdP', loginUrl: '/auth/login?provider=test' }],
    });
    await client.login({ provider: 'test', returnTo: '/reports?year=2026' });
    expect(navigations).toEqual(['/auth/login?provider=test&returnTo=%2Freports%3Fyear%3D2026']);

    // The browser follows: gateway → provider (sign in as ada) → gateway callback → returnTo.
    const start = await browser.navigate(navigations[0] as string);
    expect(start.status).toBe(302);
    const callback = await authorizeAtProvider(start.location as string, 'ada');
    const back = await browser.navigate(`${callback.pathname}${callback.search}`, 'cross-site');
    expect(back).toEqual({ status: 303, location: '/reports?year=2026' });

    // The page that loads there asks for its session.
    const session = await client.session();
    expect(session).toMatchObject({
      provider: 'test',
      user: { id: 'test:ada', name: 'Ada Lovelace', email: 'ada@example.test', roles: ['admin', 'user'] },
    });

    const events: SignedOutEvent[] = [];
    client.on('signedout', (event) => events.push(event));
    const { redirect } = await client.logout();
    expect(redirect?.startsWith(`${harness.idp.issuer}/`)).toBe(true);
    expect(navigations.at(-1)).toBe(redirect);
    expect(new URL(redirect as string).searchParams.get('post_logout_redirect_uri')).toBe('https://gatehouse.test/');
    expect(events).toEqual([{ reason: 'logout' }]);
    expect((await browser.fetch('/auth/session')).status).toBe(401);
  });

  it('a returnTo that is not a path on this origin (also after normalising) is replaced by the current page', async () => {
    const navigations: string[] = [];
    const client = createGatehouseClient({ navigate: (url) => navigations.push(url), origin: 'https://gatehouse.test' });
    const refused = [
      '/.//evil.example',
      '/%2e//evil.example',
      '/%2E%2e//evil.example',
      '/a/..//evil.example',
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      '/\\\\evil.example',
      '/x\n/evil.example',
      'reports',
      'javascript:alert(1)',
    ];
    for (const returnTo of refused) await client.login({ provider: 'test', returnTo });
    // No location in Node: the current page is `/`.
    expect(navigations).toEqual(refused.map(() => '/auth/login?provider=test&returnTo=%2F'));
    navigations.length = 0;
    for (const returnTo of ['/reports', '/a/../reports?x=//evil.example', '/a/.//b']) await client.login({ provider: 'test', returnTo });
    expect(navigations).toEqual(['/reports', '/a/../reports?x=//evil.example', '/a/.//b'].map((r) => `/auth/login?provider=test&returnTo=${encodeURIComponent(r)}`));
    // The same check, exported for pages that read ?returnTo= themselves (the example SPA).
    expect(refused.filter((r) => isSameOriginPath(r, 'https://gatehouse.test'))).toEqual([]);
    expect(isSameOriginPath('/reports', 'https://gatehouse.test')).toBe(true);
  });

  it('the current page is checked too: a page at //evil.example falls back to /', async () => {
    const navigations: string[] = [];
    const client = createGatehouseClient({ navigate: (url) => navigations.push(url) });
    const original = Object.getOwnPropertyDescriptor(globalThis, 'location');
    Object.defineProperty(globalThis, 'location', {
      value: { origin: 'https://gatehouse.test', pathname: '//evil.example/', search: '', hash: '' },
      configurable: true,
    });
    try {
      await client.login({ provider: 'test', returnTo: '/.//evil.example' });
    } finally {
      if (original) Object.defineProperty(globalThis, 'location', original);
      else Reflect.deleteProperty(globalThis, 'location');
    }
    expect(navigations).toEqual(['/auth/login?provider=test&returnTo=%2F']);
  });

  it('without returnTo, comes back to the current page', async () => {
    harness = await oidcHarness();
    const navigations: string[] = [];
    const client = createGatehouseClient({ fetch: testBrowser(harness.gw).fetch, navigate: (url) => navigations.push(url) });
    const location = { pathname: '/orders/42', search: '?tab=items', hash: '#top' };
    const original = Object.getOwnPropertyDescriptor(globalThis, 'location');
    Object.defineProperty(globalThis, 'location', { value: location, configurable: true });
    try {
      await client.login({ provider: 'test' });
    } finally {
      if (original) Object.defineProperty(globalThis, 'location', original);
      else Reflect.deleteProperty(globalThis, 'location');
    }
    expect(navigations).toEqual([`/auth/login?provider=test&returnTo=${encodeURIComponent('/orders/42?tab=items#top')}`]);
  });
});
