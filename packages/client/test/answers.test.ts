// Answers a healthy gateway never gives (no network, a proxy's HTML error page, a redirect, a
// hostile end-session URL): these need an injected fetch, since the real gateway cannot be made
// to send them. Everything a real gateway can answer is tested against one in the other files.
import { describe, expect, it, vi } from 'vitest';
import { createGatehouseClient, GatehouseClientError } from '../src/index.js';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('answers that are not the gateway’s JSON', () => {
  it('no answer at all is network_error (status 0), with the cause kept', async () => {
    const cause = new TypeError('Failed to fetch');
    const client = createGatehouseClient({ fetch: () => Promise.reject(cause) });
    const error = await client.sessions().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseClientError);
    expect(error).toMatchObject({ code: 'network_error', status: 0, cause });
    // client.fetch is a plain fetch: it rejects the way fetch does.
    await expect(client.fetch('/api/x')).rejects.toBe(cause);
    expect(client.state).toEqual({ status: 'unknown' });
  });

  it("a proxy's HTML error page is invalid_response with its status", async () => {
    const client = createGatehouseClient({ fetch: async () => new Response('<h1>502 Bad Gateway</h1>', { status: 502 }) });
    await expect(client.session()).rejects.toMatchObject({ code: 'invalid_response', status: 502 });
    expect(client.state).toEqual({ status: 'unknown' });
  });

  it('a malformed session answer is refused before any timer is set from it', async () => {
    const client = createGatehouseClient({ fetch: async () => json(200, { user: { id: 'u' }, session: { expiresAt: 'soon' } }) });
    await expect(client.session()).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
    expect(client.state).toEqual({ status: 'unknown' });
  });

  it("auth requests are sent with redirect: 'manual', and a redirect is an error, never followed", async () => {
    const fetch = vi.fn(async () => new Response(null, { status: 302, headers: { location: 'https://login.example/' } }));
    const client = createGatehouseClient({ fetch });
    await expect(client.session()).rejects.toMatchObject({ code: 'unexpected_redirect', status: 302 });
    expect(fetch).toHaveBeenCalledWith('/auth/session', expect.objectContaining({ redirect: 'manual', credentials: 'same-origin' }));
  });

  it('a custom prefix is used for every auth request', async () => {
    const fetch = vi.fn(async () => json(200, { local: false, providers: [] }));
    const client = createGatehouseClient({ fetch, prefix: '/gate/' });
    await client.providers();
    expect(fetch).toHaveBeenCalledWith('/gate/providers', expect.anything());
  });

  it('logout navigates only to an https address (http on loopback) without userinfo or backslashes; signed out either way', async () => {
    const allowed: Record<string, string> = {
      'https://idp.example/logout?id_token_hint=x': 'https://idp.example/logout?id_token_hint=x',
      'HTTPS://IDP.example/logout': 'https://idp.example/logout',
      'http://localhost:8080/logout': 'http://localhost:8080/logout',
      'http://127.0.0.1/logout': 'http://127.0.0.1/logout',
      'http://[::1]:3000/logout': 'http://[::1]:3000/logout',
    };
    const refused = [
      'javascript:alert(document.domain)',
      'data:text/html,hi',
      'https://\\evil.example/',
      'https:\\\\evil.example/',
      'https://idp.example\\@evil.example/',
      'http://evil.example/',
      'http://localhost.evil.example/',
      'https://user:pw@idp.example/',
      'https://user@idp.example/',
      'https://:pw@idp.example/',
      '//evil.example/',
      '/logout',
      'not a url',
      42,
      null,
    ];
    for (const redirect of [...Object.keys(allowed), ...refused]) {
      const navigations: string[] = [];
      const client = createGatehouseClient({ fetch: async () => json(200, { redirect }), navigate: (url) => navigations.push(url) });
      const expected = typeof redirect === 'string' ? allowed[redirect] : undefined;
      expect(await client.logout(), String(redirect)).toEqual(expected ? { redirect: expected } : {});
      expect(navigations, String(redirect)).toEqual(expected ? [expected] : []);
      expect(client.state, String(redirect)).toEqual({ status: 'signed-out', reason: 'logout' });
    }
  });

  it('a 2xx body that is not a JSON object (null, a number, an array) is invalid_response, not a TypeError', async () => {
    for (const body of [null, 42, 'ok', [], true]) {
      const client = createGatehouseClient({ fetch: async () => json(200, body) });
      for (const [name, run] of Object.entries({
        logout: () => client.logout(),
        sessions: () => client.sessions(),
        revokeOthers: () => client.revokeOthers(),
        providers: () => client.providers(),
        session: () => client.refreshSession(),
      })) {
        const error = await run().catch((e: unknown) => e);
        expect(error, `${name} ${JSON.stringify(body)}`).toBeInstanceOf(GatehouseClientError);
        expect(error, `${name} ${JSON.stringify(body)}`).toMatchObject({ code: 'invalid_response', status: 200 });
      }
      // A 2xx, whatever its body: the gateway ended the session before writing it.
      expect(client.state).toEqual({ status: 'signed-out', reason: 'logout' });
    }
    // Entries that are not objects are skipped, not a TypeError.
    const client = createGatehouseClient({
      fetch: async (input) =>
        String(input).endsWith('/providers')
          ? json(200, { local: true, providers: [null, 'x', { id: 'test', loginUrl: '/auth/login?provider=test' }] })
          : json(200, { sessions: [null, 7] }),
    });
    expect(await client.providers()).toEqual({ local: true, providers: [{ id: 'test', name: 'test', loginUrl: '/auth/login?provider=test' }] });
    expect(await client.sessions()).toEqual([]);
  });

  it('an error page that is not JSON keeps its Retry-After', async () => {
    const client = createGatehouseClient({
      fetch: async () => new Response('<h1>503 Service Unavailable</h1>', { status: 503, headers: { 'content-type': 'text/html', 'retry-after': '30' } }),
    });
    const error = await client.login({ username: 'alice', password: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseClientError);
    expect(error).toMatchObject({ code: 'invalid_response', status: 503, retryAfter: 30 });
  });

  it("in a browser, the page's origin is location's: X-CSRF and the 401 check only for it", async () => {
    const original = Object.getOwnPropertyDescriptor(globalThis, 'location');
    Object.defineProperty(globalThis, 'location', { value: { origin: 'https://app.example', href: 'https://app.example/orders/' }, configurable: true });
    try {
      const sent: [string, string | null][] = [];
      const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        sent.push([String(input), new Headers(init?.headers).get('x-csrf')]);
        return json(401, { error: 'unauthenticated' });
      });
      const client = createGatehouseClient({ fetch, origin: 'https://ignored.example' });
      await client.fetch('https://other.example/auth/x', { method: 'POST' });
      await client.fetch('https://ignored.example/auth/x', { method: 'POST' });
      expect(client.state).toEqual({ status: 'unknown' });
      const ended = new Promise((resolve) => client.on('signedout', resolve));
      await client.fetch('42', { method: 'POST' });
      // Relative to location.href, under /orders/: not /auth, so the gateway is asked first.
      await ended;
      expect(sent).toEqual([
        ['https://other.example/auth/x', null],
        ['https://ignored.example/auth/x', null],
        ['42', '1'],
        ['/auth/session', null],
      ]);
      expect(client.state).toEqual({ status: 'signed-out', reason: 'unauthenticated' });
    } finally {
      if (original) Object.defineProperty(globalThis, 'location', original);
      else Reflect.deleteProperty(globalThis, 'location');
    }
  });
});

describe('listeners', () => {
  it('a throwing listener does not keep the others from the event; unsubscribe works', async () => {
    const thrown = new Error('listener bug');
    const reported: unknown[] = [];
    // Browsers report a listener's error with reportError (to window.onerror); Node 20 has none.
    const g = globalThis as { reportError?: (error: unknown) => void };
    g.reportError = (error) => reported.push(error);
    try {
      const client = createGatehouseClient({ fetch: async () => json(401, { error: 'unauthenticated', message: 'Sign-in required.' }) });
      const heard: string[] = [];
      client.on('signedout', () => {
        throw thrown;
      });
      client.on('signedout', (event) => heard.push(event.reason));
      const off = client.on('change', () => heard.push('change'));
      off();
      expect(await client.session()).toBeNull();
      expect(heard).toEqual(['unauthenticated']);
      expect(reported).toEqual([thrown]);
    } finally {
      delete g.reportError;
    }
  });
});
