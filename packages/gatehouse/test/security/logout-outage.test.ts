/**
 * Logout while the session store is out. Expiring the cookie before the store has ended the
 * session would sign the browser out while its session stays valid on the server, and take away
 * the one thing that can still end it (the cookie): anyone holding a copy of it keeps the session
 * until it expires. The gateway keeps the cookie and answers 503 `store_unavailable` with
 * `Retry-After`; when the store is back the same logout ends the session.
 *
 * Both session modes: in cookie mode the cookie is the session, and the revocation list (a
 * coordination value on the same Redis) is what logout must write before the cookie may go.
 *
 * Each test runs its own redis-server (test/helpers/redis-server.ts; never the shared one on
 * 6379), takes it down in a different way, and talks to a listening gateway over real sockets.
 *
 * Requirements: OWASP ASVS 5.0 V7.4.1 (logout invalidates the session on the server), OWASP
 * Session Management Cheat Sheet ("Session Expiration": invalidate server-side on logout),
 * RFC 9110 §15.6.4 + §10.2.3 (503 with Retry-After).
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { createGatehouse, type Gatehouse } from '../../src/server.js';
import { PASSWORD, SAME_ORIGIN, SITE, testConfigInput } from '../helpers/gateway.js';
import { cli, freePort, type RedisProcess, startRedisServer, until } from '../helpers/redis-server.js';
import { describeWithRedis, runId } from '../helpers/services.js';
import { SESSION_MODES, type SessionMode } from '../helpers/session-modes.js';

const COOKIE = '__Host-gatehouse';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let port = 0;

/** One request over a fresh TCP connection to the listening gateway. */
function call(method: string, path: string, cookie?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { ...SAME_ORIGIN, accept: 'application/json', ...(cookie ? { cookie } : {}) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const setCookies = (res: Answer) => [res.headers['set-cookie'] ?? []].flat();
/** A Set-Cookie that expires the session cookie. */
const clearsSession = (res: Answer) => setCookies(res).some((c) => c.startsWith(`${COOKIE}=;`) || (c.startsWith(`${COOKIE}=`) && /Max-Age=0/i.test(c)));

let n = 0;
let gatehouse: Gatehouse | undefined;
let redis: RedisProcess | undefined;

afterEach(async () => {
  await gatehouse?.close();
  await redis?.stop();
  gatehouse = redis = undefined;
});

/** A listening gateway on our own Redis (short timeouts, so an outage shows at once), and alice's cookie. */
async function start(mode: SessionMode): Promise<{ cookie: string; sessionId: string }> {
  redis = await startRedisServer();
  const input = testConfigInput({
    session: { store: redis.url, idleTimeout: '30m', absoluteTimeout: '12h', mode },
    redis: { keyPrefix: `gh-test:${runId}:logout-outage:${++n}:`, connectTimeout: '500ms', commandTimeout: '500ms' },
  });
  gatehouse = await createGatehouse(resolveConfig(input, { baseDir: SITE, env: {} }), { keys: createKeyRing([generateKey()]), logger: false });
  await gatehouse.local?.accounts.add({ username: 'alice', password: PASSWORD, name: 'Alice', roles: ['user'] });
  await gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
  port = (gatehouse.app.server.address() as AddressInfo).port;
  const login = await call('POST', '/auth/login', undefined, { username: 'alice', password: PASSWORD });
  expect(login.status).toBe(200);
  const cookie = (setCookies(login).find((c) => c.startsWith(`${COOKIE}=`)) as string).split(';', 1)[0] as string;
  return { cookie, sessionId: JSON.parse(login.body).session.id };
}

/** The refusal during the outage: 503 store_unavailable, Retry-After, and the cookie left alone. */
function expectRetryableRefusal(res: Answer, what: string): void {
  expect(res.status, what).toBe(503);
  expect(JSON.parse(res.body), what).toMatchObject({ error: 'store_unavailable' });
  expect(res.headers['retry-after'], what).toMatch(/^[1-9]\d*$/);
  expect(clearsSession(res), `${what}: ${setCookies(res).join(' | ')}`).toBe(false);
}

/** After the store is back: the same cookie still works, logout ends it, and it is refused after. */
async function expectLogoutCompletes(cookie: string): Promise<void> {
  await until(async () => (await call('GET', '/auth/session', cookie)).status === 200, 15_000, 'the session to be served again');
  expect((await call('GET', '/files/report.txt', cookie)).body).toContain('PROTECTED-REPORT');
  const logout = await call('POST', '/auth/logout', cookie);
  expect(logout.status).toBe(200);
  expect(clearsSession(logout)).toBe(true);
  const replay = await call('GET', '/auth/session', cookie);
  expect(replay.status).toBe(401);
  expect(JSON.parse(replay.body)).toMatchObject({ error: 'unauthenticated' });
  expect((await call('GET', '/files/report.txt', cookie)).status).toBe(401);
}

describeWithRedis('logout during a session store outage', () => {
  describe.each(SESSION_MODES)('session mode %s', (mode) => {
    it('OWASP ASVS 5.0 V7.4.1: Redis frozen (SIGSTOP): logout and revoke answer 503 store_unavailable with Retry-After and keep the cookie; after SIGCONT the same logout ends the session', async () => {
      const { cookie, sessionId } = await start(mode);
      redis?.pause();
      expectRetryableRefusal(await call('POST', '/auth/logout', cookie), 'POST /auth/logout');
      expectRetryableRefusal(await call('DELETE', `/auth/sessions/${sessionId}`, cookie), 'DELETE /auth/sessions/:id');
      expectRetryableRefusal(await call('DELETE', '/auth/sessions', cookie), 'DELETE /auth/sessions');
      redis?.resume();
      await expectLogoutCompletes(cookie);
    });

    it('OWASP Session Management Cheat Sheet: Redis demoted to a read-only replica (reads work, the revoke fails): 503, the cookie kept, the session still ends after', async () => {
      const { cookie, sessionId } = await start(mode);
      const r = redis as RedisProcess;
      // A failover that left this node a replica of a master it cannot reach: it keeps serving the
      // data it has (replica-serve-stale-data) and refuses every write (READONLY).
      await cli(r.port, 'REPLICAOF', '127.0.0.1', String(await freePort()));
      expect((await call('GET', '/auth/session', cookie)).status).toBe(200);

      const logout = await call('POST', '/auth/logout', cookie);
      expectRetryableRefusal(logout, 'POST /auth/logout');
      // This is the case that mattered: the lookup worked, the revoke did not. The session is live
      // on the server, and this browser still holds what it takes to end it.
      expect((await call('GET', '/auth/session', cookie)).status).toBe(200);
      const revoke = await call('DELETE', `/auth/sessions/${sessionId}`, cookie);
      expectRetryableRefusal(revoke, 'DELETE /auth/sessions/:id (the current session)');

      await cli(r.port, 'REPLICAOF', 'NO', 'ONE');
      await expectLogoutCompletes(cookie);
    });

    it('RFC 9110 §15.6.4: Redis gone (shut down): logout is refused at once, the cookie kept; after a restart with its data, logout ends the session', async () => {
      const { cookie } = await start(mode);
      const r = redis as RedisProcess;
      await r.shutdownSaving();
      expectRetryableRefusal(await call('POST', '/auth/logout', cookie), 'POST /auth/logout');
      await r.start();
      await expectLogoutCompletes(cookie);
    });
  });
});
