import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionIdFromToken } from '../../src/session/token.js';
import { SAME_ORIGIN } from '../helpers/gateway.js';
import { type HostileHarness, hostileHarness, mark } from '../helpers/hostile-provider.js';

/**
 * A session that ends (logout, "sign out everywhere", back-channel logout, on this instance or
 * another) while its refresh is at the provider stays ended: the refresh's write-back is
 * conditional, so it neither resurrects the session nor re-lists it under the user.
 */

let h: HostileHarness;
beforeAll(async () => {
  h = await hostileHarness();
});
afterAll(async () => h?.close());

const session = (cookie: string) => h.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } });
const idOf = (cookie: string) => sessionIdFromToken(cookie.slice(cookie.indexOf('=') + 1));

describe('a refresh racing a sign-out', () => {
  for (const [name, signOut] of [
    ['signed out everywhere', (sub: string) => h.gw.gatehouse.sessions.revokeUser(`hostile:${sub}`)],
    ['this session revoked', (_sub: string, id: string) => h.gw.gatehouse.sessions.revoke(id)],
  ] as const) {
    it(`${name} while the provider answers: 401, and the refreshed tokens are not written back`, async () => {
      const sub = `raced-${name.split(' ')[0]}`;
      const cookie = await h.signIn(sub, { expiresIn: 1 });
      const id = idOf(cookie);
      expect(await h.gw.gatehouse.store.get(id)).not.toBeNull();
      // The sign-out lands after the refresh has read the session and before its write-back.
      let signedOut: Promise<unknown> | undefined;
      h.idp.onRefresh = () => {
        signedOut = signOut(sub, id);
        return { expiresIn: 3600 };
      };
      const m = mark(h);
      const res = await session(cookie);
      await signedOut;
      expect(h.idp.tokenRequests.slice(m.tokenRequests).map((r) => r.grantType)).toEqual(['refresh_token']);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'unauthenticated', message: 'Sign-in required.' });
      expect([res.headers['set-cookie'] ?? []].flat().some((c) => /^__Host-gatehouse=;/.test(c))).toBe(true);
      expect(await h.gw.gatehouse.store.get(id)).toBeNull();
      expect(await h.gw.gatehouse.store.listByUser(`hostile:${sub}`)).toEqual([]);
      // Not reported as refreshed: the session had ended.
      expect(h.logs.slice(m.logs).filter((l) => l.event === 'token_refresh')).toEqual([]);
      expect((await session(cookie)).statusCode).toBe(401);
    });
  }
});
