/**
 * Cookie mode fails closed: a genuine cookie opens without the store, but the revocation list
 * must answer on every request, and the registry at every revalidation. When the backend cannot
 * answer, a protected request is 503 `store_unavailable`: never 200 (a revoked session could be
 * served), never 401 or a redirect to sign-in (anonymous), and the cookie is neither cleared nor
 * re-issued (an outage must not sign anyone out). Each test first shows the same cookie served.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { login, setCookies, type TestGateway } from '../helpers/gateway.js';
import { NAVIGATE } from '../helpers/oidc.js';
import { deleteKeys, freePort, type RedisProcess, startRedisServer } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';
import { cookieGateway, get, REVALIDATE, send } from './cookie-mode-fixture.js';

let open: TestGateway[] = [];
let redis: RedisProcess | undefined;
afterEach(async () => {
  for (const gw of open.reverse()) await gw.close();
  open = [];
  await redis?.stop();
  redis = undefined;
});

let n = 0;
const redisConfig = (prefix = `gh-test:${runId}:cookie-closed:${++n}:`) => ({ keyPrefix: prefix, connectTimeout: '500ms', commandTimeout: '500ms' });

async function gateway(options: Parameters<typeof cookieGateway>[0] = {}): Promise<TestGateway> {
  const gw = await cookieGateway(options);
  open.push(gw);
  return gw;
}

function expectUnavailable(res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(503);
  expect(res.json()).toEqual({ error: 'store_unavailable', message: 'The session store is unavailable. Try again shortly.' });
  expect(res.body).not.toContain('alice');
  // Neither cleared nor re-issued: the browser keeps the cookie for when the store is back.
  expect(setCookies(res).filter((h) => h.startsWith('__Host-gatehouse=') || h.startsWith('__Host-gatehouse-c'))).toEqual([]);
}

/** Every way a request asks about the session: the session endpoint, a protected file as fetch and as navigation. */
async function expectFailsClosed(gw: TestGateway, cookie: string): Promise<void> {
  expectUnavailable(await get(gw, cookie));
  expectUnavailable(await get(gw, cookie, '/files/report.txt'));
  const page = await gw.inject({ method: 'GET', url: '/files/report.txt', headers: { ...NAVIGATE, cookie } });
  expect(page.statusCode).toBe(503);
  expect(page.headers.location).toBeUndefined();
  expect(page.body).not.toContain('report');
}

async function expectServed(gw: TestGateway, cookie: string): Promise<void> {
  expect((await get(gw, cookie)).statusCode).toBe(200);
  expect((await get(gw, cookie, '/files/report.txt')).statusCode).toBe(200);
}

describeWithRedis('Redis down', () => {
  it('killed under a running gateway: 503 at once for a genuine cookie, between and at revalidations; logout 503 keeps the cookie', async () => {
    redis = await startRedisServer();
    const gw = await gateway({ session: { store: redis.url }, config: { redis: redisConfig() } });
    const cookie = await login(gw);
    await expectServed(gw, cookie);
    await redis.stop();
    await expectFailsClosed(gw, cookie);
    gw.clock.advance(REVALIDATE);
    await expectFailsClosed(gw, cookie);
    const logout = await send(gw, 'POST', '/auth/logout', cookie);
    expectUnavailable(logout);
  });

  it('frozen (SIGSTOP): 503 once the command timeout passes, never 200; served again after SIGCONT', async () => {
    redis = await startRedisServer();
    const gw = await gateway({ session: { store: redis.url }, config: { redis: redisConfig() } });
    const cookie = await login(gw);
    redis.pause();
    await expectFailsClosed(gw, cookie);
    redis.resume();
    await expect.poll(async () => (await get(gw, cookie)).statusCode, { timeout: 15_000 }).toBe(200);
  });

  it('an instance whose Redis is on a closed port: a genuine cookie from a healthy instance (same keys) → 503, not a session', async () => {
    const keys = createKeyRing([generateKey()]);
    const prefix = `gh-test:${runId}:cookie-closed:healthy:${++n}:`;
    try {
      const healthy = await gateway({ session: { store: REDIS_URL }, config: { redis: redisConfig(prefix) }, deps: { keys } });
      const cookie = await login(healthy);
      await expectServed(healthy, cookie);
      const port = await freePort();
      const cut = await gateway({ session: { store: `redis://127.0.0.1:${port}` }, config: { redis: redisConfig(prefix) }, deps: { keys }, seed: false, clock: healthy.clock });
      await expectFailsClosed(cut, cookie);
    } finally {
      await deleteKeys(REDIS_URL, prefix);
    }
  });
});

describe('SQLite store closed', () => {
  it('the revocation list lives in the closed file: 503 between revalidations and at one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cookie-closed-'));
    try {
      const gw = await gateway({ session: { store: `sqlite:${join(dir, 'sessions.db')}` } });
      const cookie = await login(gw);
      await expectServed(gw, cookie);
      await gw.gatehouse.store.close();
      await expectFailsClosed(gw, cookie);
      gw.clock.advance(REVALIDATE);
      await expectFailsClosed(gw, cookie);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('memory store closed', () => {
  it('at a revalidation the registry cannot answer: 503', async () => {
    const gw = await gateway();
    const cookie = await login(gw);
    await gw.gatehouse.store.close();
    gw.clock.advance(REVALIDATE);
    await expectFailsClosed(gw, cookie);
  });

  // BUG (reported): the memory backend's revocation list is a separate object that neither the
  // store's close nor Gatehouse.close() closes (server.ts, backends/stores/index.ts), unlike SQLite
  // (closed with its store) and Redis/PostgreSQL (their shared connection). So with the memory store
  // closed, a cookie between revalidations is still served 200.
  it.fails('between revalidations too: 503, never 200 (the memory revocation list outlives its store)', async () => {
    const gw = await gateway();
    const cookie = await login(gw);
    await gw.gatehouse.store.close();
    await expectFailsClosed(gw, cookie);
  });
});
