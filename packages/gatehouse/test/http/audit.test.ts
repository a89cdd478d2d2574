import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/http/audit.js';
import { createMemoryCoordination } from '../../src/backends/coordination/memory.js';
import { TokenRefresher } from '../../src/oidc/refresh.js';
import { requestForLog } from '../../src/http/request-log.js';
import { sessionIdFromToken } from '../../src/session/token.js';
import { login, PASSWORD, SAME_ORIGIN, sessionCookieFrom, testGateway, type TestGateway } from '../helpers/gateway.js';
import { federatedLogin, Jar, oidcHarness, type OidcHarness, submitProviderForm } from '../helpers/oidc.js';

let gw: TestGateway | undefined;
let h: OidcHarness | undefined;
afterEach(async () => {
  await gw?.close();
  await h?.close();
  gw = h = undefined;
});

const NEW_PASSWORD = 'an entirely new passphrase';

/** Fields every audit line may carry besides its event's own (pino's and the audit envelope's). */
const ENVELOPE = ['level', 'time', 'pid', 'hostname', 'msg', 'audit', 'event', 'ip', 'reqId'];
/** The fields each event may carry (docs/security.md, "Audit log"). */
const FIELDS: Record<AuditEvent, string[]> = {
  login: ['method', 'provider', 'userId', 'sessionId'],
  login_failed: ['method', 'provider', 'username', 'error', 'reason'],
  login_throttled: ['method', 'username'],
  lockout: ['method', 'username', 'locked'],
  logout: ['userId', 'sessionId'],
  backchannel_logout: ['provider', 'ended'],
  password_changed: ['userId', 'sessionId', 'revoked'],
  password_change_failed: ['userId', 'sessionId', 'reason'],
  session_revoked: ['userId', 'sessionId', 'revoked'],
  sessions_revoked: ['userId', 'sessionId', 'revoked'],
  csrf_rejected: ['reason'],
  cross_site_rejected: [],
  token_refresh: ['outcome', 'userId', 'sessionId'],
  session_cookie_too_large: ['userId', 'provider', 'bytes'],
};

/** A pino logger writing into memory, with the gateway's own request serializer (as in production). */
function captureLogs() {
  const lines: string[] = [];
  return {
    /** Everything logged, raw. */
    text: () => lines.join(''),
    audit: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.audit === true),
    logger: { level: 'info', serializers: { req: requestForLog }, stream: { write: (line: string) => void lines.push(line) } },
  };
}

/** Each audit line carries its event's fields and the envelope, nothing else. */
function expectDocumentedFields(entries: Record<string, unknown>[]) {
  for (const entry of entries) {
    const allowed = [...ENVELOPE, ...(FIELDS[entry.event as AuditEvent] ?? ['<unknown event>'])];
    expect(Object.keys(entry).filter((key) => !allowed.includes(key)), String(entry.event)).toEqual([]);
    expect(entry.msg).toBe(entry.event);
  }
}

const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1);
const prefix = (cookie: string) => sessionIdFromToken(tokenOf(cookie)).slice(0, 12);

describe('audit log: local sign-in', () => {
  it('logs login_failed, lockout (when the account locks), login_throttled and login, once each, with no password', async () => {
    const logs = captureLogs();
    gw = await testGateway({ local: { enabled: true, store: 'memory', throttle: { accountFailures: 2 } } }, { logger: logs.logger });
    const attempt = (username: string, password: string) =>
      gw!.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username, password } });
    expect((await attempt('bob', 'wrong guess one')).statusCode).toBe(401);
    expect((await attempt('bob', 'wrong guess two')).statusCode).toBe(401);
    expect((await attempt('bob', PASSWORD)).statusCode).toBe(429);
    const cookie = await login(gw);

    const entries = logs.audit();
    expect(entries.map((e) => e.event)).toEqual(['login_failed', 'login_failed', 'lockout', 'login_throttled', 'login']);
    expect(entries[0]).toMatchObject({ method: 'local', username: 'bob' });
    expect(entries[2]).toMatchObject({ event: 'lockout', method: 'local', username: 'bob', locked: ['account'] });
    expect(entries[3]).toMatchObject({ method: 'local', username: 'bob' });
    const user = (await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).json().user;
    expect(entries[4]).toMatchObject({ method: 'local', userId: user.id, sessionId: prefix(cookie) });
    for (const entry of entries) {
      expect(entry.ip).toBe('127.0.0.1');
      expect(typeof entry.reqId).toBe('string');
    }
    // The request ids are those of the requests that caused them: one event per failed request.
    expect(new Set(entries.slice(0, 2).map((e) => e.reqId)).size).toBe(2);
    expect(entries[2]?.reqId).toBe(entries[1]?.reqId);
    expectDocumentedFields(entries);

    const text = logs.text();
    for (const secret of [PASSWORD, 'wrong guess one', 'wrong guess two', tokenOf(cookie), sessionIdFromToken(tokenOf(cookie))]) {
      expect(text).not.toContain(secret);
    }
  });

  it('logs a lockout of the client address, too (password spraying)', async () => {
    const logs = captureLogs();
    gw = await testGateway({ local: { enabled: true, store: 'memory', throttle: { addressFailures: 2 } } }, { logger: logs.logger });
    for (const username of ['alice', 'bob']) {
      await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username, password: 'spray' } });
    }
    const lockouts = logs.audit().filter((e) => e.event === 'lockout');
    expect(lockouts).toEqual([expect.objectContaining({ username: 'bob', locked: ['address'] })]);
  });
});

describe('audit log: sessions and passwords', () => {
  it('logs session_revoked, sessions_revoked, password_change_failed, password_changed and logout, once each, with no secret', async () => {
    const logs = captureLogs();
    gw = await testGateway({}, { logger: logs.logger });
    const laptop = await login(gw);
    const phone = await login(gw);
    const tablet = await login(gw);
    const headers = (cookie: string) => ({ ...SAME_ORIGIN, cookie });
    const csrfToken = (await gw.inject({ method: 'GET', url: '/auth/session', headers: headers(laptop) })).json().csrfToken as string;
    const phoneId = sessionIdFromToken(tokenOf(phone));

    expect((await gw.inject({ method: 'DELETE', url: `/auth/sessions/${phoneId}`, headers: headers(laptop) })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'DELETE', url: '/auth/sessions', headers: headers(laptop) })).json()).toEqual({ revoked: 1 });
    const wrong = await gw.inject({
      method: 'POST',
      url: '/auth/password',
      headers: headers(laptop),
      payload: { currentPassword: 'not the password', newPassword: NEW_PASSWORD },
    });
    expect(wrong.statusCode).toBe(401);
    const changed = await gw.inject({
      method: 'POST',
      url: '/auth/password',
      headers: headers(laptop),
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(changed.statusCode).toBe(200);
    const renewed = sessionCookieFrom(changed);
    expect((await gw.inject({ method: 'POST', url: '/auth/logout', headers: headers(renewed) })).statusCode).toBe(200);

    const entries = logs.audit().filter((e) => e.event !== 'login');
    expect(entries.map((e) => e.event)).toEqual(['session_revoked', 'sessions_revoked', 'password_change_failed', 'password_changed', 'logout']);
    const userId = logs.audit()[0]?.userId;
    expect(userId).toBeTruthy();
    expect(entries[0]).toMatchObject({ userId, sessionId: prefix(laptop), revoked: phoneId.slice(0, 12) });
    expect(entries[1]).toMatchObject({ userId, sessionId: prefix(laptop), revoked: 1 });
    expect(entries[2]).toMatchObject({ userId, sessionId: prefix(laptop), reason: 'invalid_credentials' });
    // The other sessions are already gone: only the current one is replaced.
    expect(entries[3]).toMatchObject({ userId, sessionId: prefix(renewed), revoked: 0 });
    expect(entries[4]).toMatchObject({ userId, sessionId: prefix(renewed) });
    expectDocumentedFields(logs.audit());

    const text = logs.text();
    const secrets = [PASSWORD, NEW_PASSWORD, 'not the password', csrfToken, ...[laptop, phone, tablet, renewed].map(tokenOf)];
    for (const secret of secrets) expect(text).not.toContain(secret);
    // Store ids are no credential (the request log shows them in DELETE /auth/sessions/:id), but
    // the audit log keeps only their prefix.
    const audited = JSON.stringify(logs.audit());
    for (const cookie of [laptop, phone, tablet, renewed]) expect(audited).not.toContain(sessionIdFromToken(tokenOf(cookie)));
  });
});

describe('audit log: cross-site refusals', () => {
  it('logs csrf_rejected with the failed check, and cross_site_rejected, once per refused request', async () => {
    const logs = captureLogs();
    gw = await testGateway({}, { logger: logs.logger });
    const cookie = await login(gw);
    const before = logs.audit().length;
    const refusals = [
      { method: 'POST', url: '/auth/logout', headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } },
      { method: 'POST', url: '/auth/logout', headers: { cookie, origin: 'https://evil.example' } },
      { method: 'POST', url: '/auth/logout', headers: { cookie } },
      { method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': 'forged.token' } },
      { method: 'GET', url: '/files/report.txt', headers: { cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } },
    ] as const;
    for (const request of refusals) expect((await gw.inject(request)).statusCode).toBe(403);

    const entries = logs.audit().slice(before);
    expect(entries.map((e) => [e.event, e.reason])).toEqual([
      ['csrf_rejected', 'cross_site_fetch'],
      ['csrf_rejected', 'origin_mismatch'],
      ['csrf_rejected', 'missing_header'],
      ['csrf_rejected', 'bad_token'],
      ['cross_site_rejected', undefined],
    ]);
    expect(new Set(entries.map((e) => e.reqId)).size).toBe(entries.length);
    expectDocumentedFields(entries);
    expect(logs.text()).not.toContain(tokenOf(cookie));
  });
});

describe('audit log: federated sessions', () => {
  it('logs login, token_refresh and backchannel_logout, with no token of the provider anywhere', async () => {
    const logs = captureLogs();
    const port = await freePort();
    h = await oidcHarness(
      {},
      { accessTokenTtl: 30, backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout/test` },
      {},
      { logger: logs.logger },
    );
    await h.gw.gatehouse.app.listen({ host: '127.0.0.1', port });
    const jar = new Jar();
    const { cookie } = await federatedLogin(h, 'ada', '/', jar);
    const [record] = await h.gw.gatehouse.store.listByUser('test:ada');
    const refresher = new TokenRefresher({
      providers: new Map(),
      sessions: h.gw.gatehouse.sessions,
      keys: h.gw.gatehouse.keys,
      clock: h.gw.clock,
      coordination: createMemoryCoordination(),
    });
    const issued = await refresher.tokens(record!);
    // The 30 s access token is inside the refresh window: this request refreshes it.
    expect((await h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).statusCode).toBe(200);
    const [refreshed] = await h.gw.gatehouse.store.listByUser('test:ada');
    const rotated = await refresher.tokens(refreshed!);
    await submitProviderForm(`${h.idp.issuer}/session/end?client_id=gatehouse-test`, jar, { logout: 'yes' });
    await expect.poll(() => logs.audit().filter((e) => e.event === 'backchannel_logout').length, { timeout: 5000 }).toBe(1);

    const entries = logs.audit();
    expect(entries.map((e) => e.event)).toEqual(['login', 'token_refresh', 'backchannel_logout']);
    expect(entries[0]).toMatchObject({ method: 'oidc', provider: 'test', userId: 'test:ada', sessionId: prefix(cookie) });
    expect(entries[1]).toMatchObject({ outcome: 'refreshed', userId: 'test:ada', sessionId: prefix(cookie) });
    expect(entries[2]).toMatchObject({ provider: 'test', ended: 1 });
    expectDocumentedFields(entries);

    const text = logs.text();
    const secrets = [issued?.accessToken, issued?.refreshToken, issued?.idToken, rotated?.accessToken, rotated?.refreshToken, tokenOf(cookie)];
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(text).not.toContain(secret);
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
