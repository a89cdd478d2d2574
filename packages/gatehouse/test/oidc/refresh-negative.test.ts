import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { type HostileHarness, hostileHarness, mark } from '../helpers/hostile-provider.js';

/**
 * Token refresh against a hostile provider. The access token expires at once (expires_in 1), so
 * the next GET /auth/session refreshes; what the provider answers decides whether the session lives.
 */

let h: HostileHarness;
beforeAll(async () => {
  h = await hostileHarness();
});
afterAll(async () => h?.close());

const session = (cookie: string) => h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
const refreshGrants = () => h.idp.tokenRequests.filter((r) => r.grantType === 'refresh_token').length;

function refreshAudit(since: number): unknown[] {
  return h.logs
    .slice(since)
    .filter((l) => l.event === 'token_refresh')
    .map((l) => l.outcome);
}

async function expectSessionEnded(res: Awaited<ReturnType<typeof session>>, cookie: string, sub: string): Promise<void> {
  expect(res.statusCode).toBe(401);
  expect(res.json()).toEqual({ error: 'unauthenticated', message: 'Sign-in required.' });
  // The browser's cookie is expired in the same answer.
  expect([res.headers['set-cookie'] ?? []].flat().some((c) => /^__Host-gatehouse=;/.test(c))).toBe(true);
  expect(await h.gw.gatehouse.store.listByUser(`hostile:${sub}`)).toEqual([]);
  // And it stays ended: the old cookie is dead, no refresh is attempted again.
  const grants = refreshGrants();
  const again = await session(cookie);
  expect(again.statusCode).toBe(401);
  expect(refreshGrants()).toBe(grants);
}

describe('refresh', () => {
  it('control: the same subject refreshes; the session lives on with a new expiry', async () => {
    h.idp.onRefresh = () => ({ expiresIn: 3600 });
    const cookie = await h.signIn('refresh-ok', { expiresIn: 1 });
    const [before] = await h.gw.gatehouse.store.listByUser('hostile:refresh-ok');
    const grants = refreshGrants();
    const logs = h.logs.length;
    const res = await session(cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.id).toBe('hostile:refresh-ok');
    expect(refreshGrants()).toBe(grants + 1);
    const [after] = await h.gw.gatehouse.store.listByUser('hostile:refresh-ok');
    expect((after?.data?.oidc as { accessTokenExpiresAt: number }).accessTokenExpiresAt).toBe(h.gw.clock() + 3_600_000);
    expect((after?.data?.oidc as { tokens: string }).tokens).not.toBe((before?.data?.oidc as { tokens: string }).tokens);
    expect(refreshAudit(logs)).toEqual(['refreshed']);
  });

  it('a refreshed ID token naming another subject ends the session (401, nothing in the store, nothing stored for the other subject)', async () => {
    h.idp.onRefresh = () => ({ sub: 'refresh-mallory', expiresIn: 3600 });
    const cookie = await h.signIn('refresh-victim', { expiresIn: 1 });
    expect(await h.gw.gatehouse.store.listByUser('hostile:refresh-victim')).toHaveLength(1);
    const m = mark(h);
    const res = await session(cookie);
    expect(h.idp.tokenRequests.at(-1)?.grantType).toBe('refresh_token');
    await expectSessionEnded(res, cookie, 'refresh-victim');
    expect(await h.gw.gatehouse.store.listByUser('hostile:refresh-mallory')).toEqual([]);
    expect(h.sessionWrites.slice(m.writes)).toEqual([]); // the other subject's tokens were never written
    expect(refreshAudit(m.logs)).toEqual(['ended']);
  });

  it('invalid_grant on refresh ends the session', async () => {
    h.idp.onRefresh = () => ({ error: 'invalid_grant' });
    const cookie = await h.signIn('refresh-revoked', { expiresIn: 1 });
    const m = mark(h);
    const res = await session(cookie);
    await expectSessionEnded(res, cookie, 'refresh-revoked');
    expect(h.sessionWrites.slice(m.writes)).toEqual([]);
    expect(refreshAudit(m.logs)).toEqual(['ended']);
  });

  // BUG (see report): openid-client refuses the foreign-issuer ID token itself (ClientError), and
  // refresh.ts treats every non-invalid_grant failure as transient: 502, the session stays, and
  // with a non-rotating provider every later /auth/session retries and fails the same way.
  it('a refreshed ID token from another issuer ends the session, as refresh.ts documents', async () => {
    h.idp.onRefresh = () => ({ idToken: { claims: { iss: 'https://evil.example' } }, rotate: false });
    const cookie = await h.signIn('refresh-other-iss', { expiresIn: 1 });
    const m = mark(h);
    const res = await session(cookie);
    expect(h.sessionWrites.slice(m.writes)).toEqual([]); // the refused tokens are never written (holds today)
    await expectSessionEnded(res, cookie, 'refresh-other-iss');
  });

  it('a refreshed ID token from another issuer is never stored, and the session is not served as fresh', async () => {
    h.idp.onRefresh = () => ({ idToken: { claims: { iss: 'https://evil.example' } }, rotate: false });
    const cookie = await h.signIn('refresh-other-iss-2', { expiresIn: 1 });
    const [before] = await h.gw.gatehouse.store.listByUser('hostile:refresh-other-iss-2');
    const m = mark(h);
    const res = await session(cookie);
    expect(res.statusCode).not.toBe(200);
    expect(h.sessionWrites.slice(m.writes)).toEqual([]);
    const after = await h.gw.gatehouse.store.listByUser('hostile:refresh-other-iss-2');
    expect(after.map((r) => r.data?.oidc)).toEqual(after.length ? [before?.data?.oidc] : []);
  });

  it('a provider that is temporarily failing (503 temporarily_unavailable) does not end the session: 502, then it recovers', async () => {
    h.idp.onRefresh = () => ({ error: 'temporarily_unavailable', status: 503 });
    const cookie = await h.signIn('refresh-flaky', { expiresIn: 1 });
    const m = mark(h);
    const res = await session(cookie);
    expect(res.statusCode).toBe(502);
    expect(res.json().error).toBe('provider_unavailable');
    expect(await h.gw.gatehouse.store.listByUser('hostile:refresh-flaky')).toHaveLength(1);
    expect(refreshAudit(m.logs)).toEqual(['failed']);
    h.idp.onRefresh = () => ({ expiresIn: 3600 });
    const recovered = await session(cookie);
    expect(recovered.statusCode).toBe(200);
    expect(recovered.json().user.id).toBe('hostile:refresh-flaky');
  });
});
