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

  it('logout navigates only to a web address', async () => {
    const navigations: string[] = [];
    for (const redirect of ['javascript:alert(document.domain)', 'data:text/html,hi', 'https://idp.example/logout?id_token_hint=x']) {
      const client = createGatehouseClient({ fetch: async () => json(200, { redirect }), navigate: (url) => navigations.push(url) });
      await client.logout();
    }
    expect(navigations).toEqual(['https://idp.example/logout?id_token_hint=x']);
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
