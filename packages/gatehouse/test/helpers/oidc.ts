import { startDemoProvider, type DemoAccount, type DemoProvider, type DemoProviderOptions } from '../../src/demo/provider.js';
import type { GatehouseDeps } from '../../src/server.js';
import { ORIGIN, testGateway, type TestGateway } from './gateway.js';
import type { CustomFetch } from 'openid-client';
import type { GatehouseConfigInput } from '../../src/config/schema.js';

export const CLIENT_ID = 'gatehouse-test';
export const CLIENT_SECRET = 'a-long-test-client-secret-0123456789';

export const ACCOUNTS: DemoAccount[] = [
  { sub: 'ada', name: 'Ada Lovelace', email: 'ada@example.test', emailVerified: true, roles: ['admin', 'user'] },
  { sub: 'alan', name: 'Alan Turing', email: 'alan@example.test', emailVerified: false },
];

export interface OidcHarness {
  gw: TestGateway;
  idp: DemoProvider;
  /** Number of token endpoint requests the provider answered (for single-flight checks). */
  tokenRequests(): number;
  close(): Promise<void>;
}

/**
 * A gateway with provider "test" pointing at a real oidc-provider on a loopback port. The
 * gateway's fetch counts token requests; everything else goes over real HTTP.
 */
export async function oidcHarness(
  overrides: Partial<GatehouseConfigInput> = {},
  provider: Partial<DemoProviderOptions> = {},
  providerConfig: Record<string, unknown> = {},
  deps: GatehouseDeps = {},
): Promise<OidcHarness> {
  const idp = await startDemoProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [`${ORIGIN}/auth/callback/test`],
    postLogoutRedirectUris: [`${ORIGIN}/`],
    accounts: ACCOUNTS,
    ...provider,
  });
  let tokenCalls = 0;
  const countingFetch = ((url: string | URL, init?: RequestInit) => {
    if (String(url).endsWith('/token')) tokenCalls++;
    return fetch(url, init);
  }) as typeof fetch;
  const gw = await testGateway(
    {
      providers: [
        { id: 'test', name: 'Test IdP', issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, allowHttpIssuer: true, scopes: ['openid', 'profile', 'email', 'offline_access'], claims: { roles: 'roles' }, ...providerConfig },
      ],
      ...overrides,
    },
    { fetch: countingFetch as unknown as CustomFetch, ...deps },
  );
  return {
    gw,
    idp,
    tokenRequests: () => tokenCalls,
    close: async () => {
      await gw.close();
      await idp.close();
    },
  };
}

/** A tiny cookie jar for the provider's own cookies (the "browser" side at the provider). */
export class Jar {
  private readonly cookies = new Map<string, string>();
  store(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = (pair as string).split('=');
      this.cookies.set((name as string).trim(), value.join('='));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Follows a provider page that has one form (logout confirmation), submitting it as is. */
export async function submitProviderForm(url: string, jar: Jar, extra: Record<string, string> = {}): Promise<Response> {
  const page = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.store(page);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form at ${url}: ${page.status} ${html.slice(0, 200)}`);
  const fields = Object.fromEntries([...html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const res = await fetch(new URL(action, url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, ...extra } as Record<string, string>),
  });
  jar.store(res);
  return res;
}

/**
 * Plays the browser at the provider: follows the authorization URL, signs in as `sub` on the dev
 * login form, and returns the redirect back to the gateway (callback URL with code, state, iss).
 */
export async function authorizeAtProvider(authorizationUrl: string, sub: string, jar = new Jar()): Promise<URL> {
  let url = authorizationUrl;
  for (let step = 0; step < 10; step++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(res);
    if (res.status >= 300 && res.status < 400) {
      const location = new URL(res.headers.get('location') as string, url);
      if (location.origin === ORIGIN) return location;
      url = location.toString();
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected provider page (${res.status}): ${html.slice(0, 300)}`);
    const body = new URLSearchParams(prompt === 'login' ? { prompt, login: sub, password: 'any' } : { prompt });
    const submit = await fetch(new URL(action, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    jar.store(submit);
    url = new URL(submit.headers.get('location') as string, url).toString();
  }
  throw new Error('too many redirects at the provider');
}

export const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' } as const;

/** Full federated sign-in through the gateway; returns the session cookie and the final redirect. */
export async function federatedLogin(
  h: OidcHarness,
  sub = 'ada',
  returnTo = '/dashboard',
  jar = new Jar(),
): Promise<{ cookie: string; location: string }> {
  const start = await h.gw.inject({ method: 'GET', url: `/auth/login?provider=test&returnTo=${encodeURIComponent(returnTo)}`, headers: NAVIGATE });
  if (start.statusCode !== 302) throw new Error(`login start: ${start.statusCode} ${start.body}`);
  const txCookie = String(start.headers['set-cookie']).split(';', 1)[0] as string;
  const back = await authorizeAtProvider(start.headers.location as string, sub, jar);
  const callback = await h.gw.inject({
    method: 'GET',
    url: `${back.pathname}${back.search}`,
    headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site', cookie: txCookie },
  });
  if (callback.statusCode !== 303) throw new Error(`callback: ${callback.statusCode} ${callback.body} ${callback.headers.location}`);
  const session = [callback.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-gatehouse='));
  if (!session) throw new Error('no session cookie');
  return { cookie: session.split(';', 1)[0] as string, location: callback.headers.location as string };
}
