// `spa.upstream` (what `gatehouse dev` fronts): a real dev server stand-in behind a listening
// gateway, its HMR WebSocket included, next to a real API upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { resolveConfig } from '../../src/config/load.js';
import { devServerCsp } from '../../src/dev/csp.js';
import { messageFor, problemsOf, withPatch } from '../config/helpers.js';
import { login, ORIGIN, SAME_ORIGIN, type TestGateway, testGateway } from '../helpers/gateway.js';
import { closedPort, type Echo, startEcho } from '../proxy/echo.js';
import { listen, rawRequest } from '../proxy/setup.js';
import { type FakeDevServer, startDevServer } from './dev-server.js';

const DEFAULT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DEV_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self' wss://gatehouse.test; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let dev: FakeDevServer;
let api: Echo;
let gw: TestGateway;
let origin: string;
let cookie: string;

beforeAll(async () => {
  dev = await startDevServer();
  api = await startEcho();
  gw = await testGateway({
    spa: { upstream: dev.origin },
    apis: [
      { path: '/api/orders', upstream: api.origin, auth: 'required' },
      { path: '/api/live', upstream: api.origin, auth: 'required', websocket: true },
    ],
  });
  origin = await listen(gw);
  cookie = await login(gw, 'alice');
});
afterAll(async () => {
  await gw.close();
  await dev.close();
  await api.close();
});

const httpSeen = () => dev.seen.filter((s) => s.method !== 'WEBSOCKET');

describe('pages from the dev server', () => {
  it('SPA paths are proxied with the gateway\'s security headers; the dev server\'s own CSP, cookies and CORS are dropped', async () => {
    const res = await fetch(`${origin}/orders/42?tab=items`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<p>/orders/42?tab=items</p>');
    expect(res.headers.get('x-dev-server')).toBe('yes');
    expect(res.headers.get('content-security-policy')).toBe(DEV_CSP);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const module = await fetch(`${origin}/src/main.ts?t=1`);
    expect(await module.text()).toContain('console.log("/src/main.ts?t=1")');
    expect(dev.seen.at(-1)?.path).toBe('/src/main.ts?t=1');
    const head = await fetch(`${origin}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(dev.seen.at(-1)).toMatchObject({ method: 'HEAD', path: '/' });
  });

  it('only the dev server\'s pages get the relaxed CSP; the gateway\'s own answers keep the configured one', async () => {
    const session = await fetch(`${origin}/auth/session`);
    expect(session.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
    const missing = await fetch(`${origin}/api/unknown`);
    expect(missing.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
  });

  it('the browser\'s Cookie and Authorization never reach the dev server', async () => {
    const res = await fetch(`${origin}/dashboard`, {
      headers: { cookie: `${cookie}; theme=dark`, authorization: 'Bearer browser-token', 'x-csrf': '1', accept: 'text/html' },
    });
    expect(res.status).toBe(200);
    const seen = dev.seen.at(-1);
    expect(seen?.path).toBe('/dashboard');
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-csrf']).toBeUndefined();
    expect(seen?.headers['x-forwarded-host']).toBe('gatehouse.test');
    expect(seen?.headers['x-forwarded-proto']).toBe('https');
  });

  it('/auth, the API routes, static mounts and Gatehouse\'s endpoints never reach the dev server', async () => {
    const before = httpSeen().length;
    const expectations: [string, number][] = [
      ['/auth/session', 401],
      ['/auth/no-such-endpoint', 404],
      ['/api/orders/1', 401],
      ['/api/unknown', 404],
      ['/api', 404],
      ['/%61pi/unknown', 404],
      ['/%61uth/x', 404],
      ['/files/report.txt', 401],
      ['/files', 404],
      ['/healthz', 200],
      ['/.well-known/jwks.json', 200],
      ['/.well-known/security.txt', 404],
    ];
    for (const [path, status] of expectations) {
      const res = await fetch(`${origin}${path}`);
      expect(res.status, path).toBe(status);
    }
    expect(httpSeen().length).toBe(before);
    // With a session the API route answers from the API upstream, not from the dev server.
    const apiAnswer = await fetch(`${origin}/api/orders/1`, { headers: { cookie } });
    expect(apiAnswer.status).toBe(200);
    expect(api.seen.at(-1)?.path).toBe('/1');
    expect(httpSeen().length).toBe(before);
  });

  it('unsafe methods: the CSRF rule first, then refused as a built SPA refuses them', async () => {
    const before = httpSeen().length;
    const forged = await fetch(`${origin}/`, { method: 'POST', headers: { origin: 'https://evil.example', cookie } });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ error: 'csrf_rejected' });
    const noHeader = await fetch(`${origin}/`, { method: 'POST', headers: { cookie } });
    expect(noHeader.status).toBe(403);
    const sameOrigin = await fetch(`${origin}/`, { method: 'POST', headers: { ...SAME_ORIGIN, cookie } });
    expect(sameOrigin.status).toBe(404);
    expect(httpSeen().length).toBe(before);
  });

  it('paths the dev server could read differently are refused, not cleaned up', async () => {
    const before = httpSeen().length;
    for (const target of ['/..%2f..%2fetc/passwd', '/@fs/%2e%2e/%2e%2e/etc/passwd', '/a/..;/b', '//evil.example/x', '/a\\b']) {
      const res = await rawRequest(origin, target);
      expect(res.status, target).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'path_rejected' });
    }
    expect(httpSeen().length).toBe(before);
  });

  it('a dev server that is not running: 502 naming it', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const other = await testGateway({ spa: { upstream: down } });
    try {
      const res = await other.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toEqual({ error: 'upstream_unavailable', message: `The dev server (${down}) cannot be reached: is it running?` });
    } finally {
      await other.close();
    }
  });
});

describe('the HMR WebSocket', () => {
  const wsOrigin = () => origin.replace('http', 'ws');
  /** Opens a socket; resolves with it and its first message, or rejects with the refusal's status. */
  const open = (path: string, headers: Record<string, string>, protocols: string[] = ['vite-hmr']) =>
    new Promise<{ socket: WebSocket; first: Record<string, unknown> }>((resolve, reject) => {
      const socket = new WebSocket(`${wsOrigin()}${path}`, protocols, { headers });
      socket.once('message', (data) => resolve({ socket, first: JSON.parse(String(data)) }));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  const sockets = () => dev.seen.filter((s) => s.method === 'WEBSOCKET');

  it('same origin: connected both ways with the chosen subprotocol; no cookie reaches the dev server', async () => {
    const { socket, first } = await open('/?token=abc123', { origin: ORIGIN, cookie: `${cookie}; theme=dark`, authorization: 'Bearer x' });
    expect(first).toEqual({ type: 'connected' });
    expect(socket.protocol).toBe('vite-hmr');
    const seen = sockets().at(-1);
    expect(seen?.path).toBe('/?token=abc123');
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers.origin).toBe(ORIGIN);
    expect(seen?.headers['sec-websocket-protocol']).toBe('vite-hmr');
    // Browser → dev server → browser.
    const echoed = new Promise<string>((resolve) => socket.once('message', (d) => resolve(String(d))));
    socket.send('{"type":"custom","event":"ping"}');
    expect(JSON.parse(await echoed)).toEqual({ type: 'echo', data: '{"type":"custom","event":"ping"}' });
    // A push from the dev server (an HMR update) reaches the browser.
    const pushed = new Promise<string>((resolve) => socket.once('message', (d) => resolve(String(d))));
    for (const devSide of dev.sockets) devSide.send('{"type":"full-reload"}');
    expect(JSON.parse(await pushed)).toEqual({ type: 'full-reload' });
    // Closing one side closes the other.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    for (const devSide of dev.sockets) devSide.close(1000);
    await closed;
  });

  it('also without a session (the SPA loads before sign-in)', async () => {
    const { socket, first } = await open('/', { origin: ORIGIN });
    expect(first).toEqual({ type: 'connected' });
    socket.close();
  });

  it('cross-site, opaque or missing Origin is refused before the dev server is dialled', async () => {
    const before = sockets().length;
    await expect(open('/', { origin: 'https://evil.example', cookie })).rejects.toMatchObject({ status: 403 });
    await expect(open('/', { origin: 'null' })).rejects.toMatchObject({ status: 403 });
    await expect(open('/', {})).rejects.toMatchObject({ status: 403 });
    await expect(open('/', { origin: ORIGIN, 'sec-fetch-site': 'cross-site' })).rejects.toMatchObject({ status: 403 });
    await expect(open('/', { origin: 'http://localhost:5173' })).rejects.toMatchObject({ status: 403 });
    expect(sockets().length).toBe(before);
  });

  it('API WebSockets still go to their API; gateway paths never reach the dev server', async () => {
    const before = sockets().length;
    const { socket, first } = await open('/api/live/feed', { origin: ORIGIN, cookie }, []);
    expect(first.path).toBe('/feed');
    socket.close();
    for (const [path, status] of [
      ['/auth/session', 404],
      ['/api/orders/x', 404],
      ['/api/other', 404],
      ['/files/x', 404],
      ['/healthz', 404],
      ['/..%2fetc', 400],
    ] as const) {
      await expect(open(path, { origin: ORIGIN, cookie }), path).rejects.toMatchObject({ status });
    }
    expect(sockets().length).toBe(before);
  });

  it('a dev server that fails the handshake: 502, and no socket is accepted', async () => {
    await expect(open('/', { origin: ORIGIN }, ['not-vite'])).rejects.toMatchObject({ status: 502 });
  });
});

describe('configuration', () => {
  const UPSTREAM = 'http://localhost:5173';
  /** The minimum configuration with its `spa` section replaced (not merged). */
  const withSpa = (spa: Record<string, unknown>, mode = 'development') => ({ ...withPatch({ mode }), spa });

  it('spa.upstream is refused in production, naming the key and the fix', () => {
    const problems = problemsOf(withSpa({ upstream: UPSTREAM }, 'production'));
    const message = messageFor(problems, 'spa.upstream');
    expect(message).toMatch(/^development only/);
    expect(message).toContain('"spa.root"');
    expect(message).toContain('"mode": "development"');
  });

  it('exactly one of spa.root and spa.upstream', () => {
    const both = problemsOf(withSpa({ root: './dist', upstream: UPSTREAM }));
    expect(messageFor(both, 'spa.upstream')).toContain('exactly one of "spa.root"');
    const neither = problemsOf(withSpa({}));
    expect(messageFor(neither, 'spa.root')).toMatch(/^required/);
  });

  it('only an origin on this machine, and never the gateway itself', () => {
    const cases: [string, RegExp][] = [
      ['http://192.168.1.20:5173', /not on this machine/],
      ['http://dev.example.com:5173', /not on this machine/],
      ['http://localhost:5173/app/', /not an origin/],
      ['ftp://localhost:5173', /not an origin/],
      ['localhost:5173', /not an origin/],
      ['http://localhost:8443', /the gateway itself/],
      ['https://localhost:8443', /the gateway itself/],
    ];
    for (const [upstream, expected] of cases) {
      const problems = problemsOf(withSpa({ upstream }));
      expect(messageFor(problems, 'spa.upstream'), upstream).toMatch(expected);
    }
  });

  it('refused behind a listener beyond this machine (the LAN would get the source, with no session)', () => {
    for (const host of ['0.0.0.0', '192.168.1.20', '::']) {
      const input = { ...withPatch({ mode: 'development', listen: { host, port: 8443, tls: 'self-signed' } }), spa: { upstream: UPSTREAM } };
      expect(messageFor(problemsOf(input), 'spa.upstream'), host).toMatch(/loopback listener, but listen\.host is/);
    }
  });

  it('accepted in development, on localhost, 127.0.0.1 or [::1]', () => {
    for (const upstream of [UPSTREAM, 'http://127.0.0.1:5173', 'https://[::1]:5173']) {
      const config = resolveConfig(withSpa({ upstream }), { baseDir: '/srv', env: {} });
      expect(config.spa).toMatchObject({ upstream, index: 'index.html' });
      expect(config.spa?.root).toBeUndefined();
    }
  });
});

describe('devServerCsp', () => {
  it('adds inline scripts and styles and the same-origin wss: URL, nothing else', () => {
    expect(devServerCsp(DEFAULT_CSP, 'https://gatehouse.test')).toBe(DEV_CSP);
  });

  it('writes out a directive that fell back to default-src, keeping its sources; replaces \'none\'', () => {
    expect(devServerCsp("default-src 'self' https://cdn.example; object-src 'none'", 'https://localhost:8443')).toBe(
      "default-src 'self' https://cdn.example; object-src 'none'; script-src 'self' https://cdn.example 'unsafe-inline'; style-src 'self' https://cdn.example 'unsafe-inline'; connect-src 'self' https://cdn.example wss://localhost:8443",
    );
    expect(devServerCsp("default-src 'none'; style-src 'none'", 'https://localhost:8443')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src wss://localhost:8443",
    );
  });

  it('leaves a policy without default-src unrestricted where it was, and relaxes -elem directives it sets', () => {
    expect(devServerCsp("frame-ancestors 'none'", 'https://localhost:8443')).toBe("frame-ancestors 'none'");
    expect(devServerCsp("script-src 'self'; script-src-elem 'self'", 'https://localhost:8443')).toBe(
      "script-src 'self' 'unsafe-inline'; script-src-elem 'self' 'unsafe-inline'",
    );
  });
});
