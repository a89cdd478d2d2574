// A gateway whose routes have no `websocket: true` still answers WebSocket handshakes itself:
// browsers send no Sec-Fetch-* headers on handshakes, so were the handshake handled as a plain GET
// a same-site page (which gets the SameSite cookie) could reach an API route as the user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { login, ORIGIN, testGateway, type TestGateway } from '../helpers/gateway.js';
import { type Echo, startEcho } from './echo.js';
import { listen } from './setup.js';

let echo: Echo;
let gw: TestGateway;
let origin: string;
let cookie: string;

beforeAll(async () => {
  echo = await startEcho();
  gw = await testGateway({ apis: [{ path: '/api/plain', upstream: echo.origin, auth: 'required' }] });
  origin = await listen(gw);
  cookie = await login(gw, 'alice');
});
afterAll(async () => {
  await gw.close();
  await echo.close();
});

function handshake(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${origin.replace('http', 'ws')}${path}`, { headers });
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('error', () => resolve(-1));
  });
}

describe('WebSocket handshakes with no WebSocket route', () => {
  it('a handshake to an API route with the cookie, from the same site or any origin, is refused 404 and never reaches the upstream', async () => {
    const before = echo.seen.length;
    for (const from of [ORIGIN, 'https://sub.localhost', 'https://evil.example']) {
      expect(await handshake('/api/plain/orders', { origin: from, cookie })).toBe(404);
    }
    expect(await handshake('/auth/session', { origin: ORIGIN, cookie })).toBe(404);
    expect(echo.seen.length).toBe(before);
  });

  it('the same route still answers an ordinary same-origin GET', async () => {
    const res = await fetch(`${origin}/api/plain/orders`, { headers: { cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(200);
  });
});
