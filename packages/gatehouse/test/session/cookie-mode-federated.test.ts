/**
 * Cookie mode, federated sessions ended by the provider: OIDC Back-Channel Logout 1.0 makes the
 * gateway revoke the sessions the logout token names, and a cookie captured before must be refused
 * at once (no revalidation wait: the revocation list is read on every request). Driven by the real
 * oidc-provider (a sign-out at the provider posts to the gateway over a socket) and, for the exact
 * sub / sid matching, by the hostile test provider's hand-made logout tokens.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LightMyRequestResponse } from 'fastify';
import { federatedLogin, Jar, oidcHarness, type OidcHarness, submitProviderForm } from '../helpers/oidc.js';
import { type HostileHarness, hostileHarness } from '../helpers/hostile-provider.js';
import { freePort } from '../helpers/redis-server.js';
import type { TestGateway } from '../helpers/gateway.js';
import { COOKIE_SESSION, expectRefused, get, headerOf, send } from './cookie-mode-fixture.js';

describe('back-channel logout from the real provider (oidc-provider)', () => {
  let h: OidcHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('(e) a sign-out at the provider: the captured cookie is refused at once; another user stays', async () => {
    const port = await freePort();
    h = await oidcHarness({ session: COOKIE_SESSION }, { backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout/test` });
    await h.gw.gatehouse.app.listen({ host: '127.0.0.1', port });
    const adaJar = new Jar();
    const ada = await federatedLogin(h, 'ada', '/', adaJar);
    const alan = await federatedLogin(h, 'alan', '/', new Jar());
    // A cookie-mode cookie: the sealed session, never the provider's tokens.
    expect(headerOf(ada.cookie).cty).toBe('session-cookie');
    expect((await get(h.gw, ada.cookie)).statusCode).toBe(200);

    const done = await submitProviderForm(`${h.idp.issuer}/session/end?client_id=gatehouse-test`, adaJar, { logout: 'yes' });
    expect(done.status).toBeLessThan(400);
    // The provider's call to the gateway runs beside the form's answer: wait for the registry to empty.
    const gw = h.gw;
    await expect.poll(async () => (await gw.gatehouse.store.listByUser('test:ada')).length, { timeout: 5000 }).toBe(0);
    expectRefused(await get(gw, ada.cookie));
    expect((await get(gw, alan.cookie)).statusCode).toBe(200);
  });
});

describe('back-channel logout tokens (hostile test provider)', () => {
  let h: HostileHarness;
  beforeAll(async () => {
    h = await hostileHarness({ overrides: { session: COOKIE_SESSION } });
  });
  afterAll(() => h?.close());

  const gw = (): TestGateway => h.gw;
  const signIn = (sub: string, sid: string) => h.signIn(sub, { idToken: { claims: { sid } } });
  function post(token: string): Promise<LightMyRequestResponse> {
    return gw().inject({
      method: 'POST',
      url: '/auth/backchannel-logout/hostile',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ logout_token: token }).toString(),
    });
  }

  it('(e) sub: every session of that user is refused at once; another user is untouched', async () => {
    const first = await signIn('cm-sub', 'cm-sid-1');
    const second = await signIn('cm-sub', 'cm-sid-2');
    const bystander = await signIn('cm-bystander', 'cm-sid-3');
    expect((await get(gw(), first)).statusCode).toBe(200);
    const res = await post(await h.idp.logoutToken({ claims: { sub: 'cm-sub' } }));
    expect(res.statusCode).toBe(200);
    expectRefused(await get(gw(), first));
    expectRefused(await get(gw(), second));
    expectRefused(await get(gw(), first, '/files/report.txt'));
    expect((await get(gw(), bystander)).statusCode).toBe(200);
    expect(await gw().gatehouse.store.listByUser('hostile:cm-sub')).toEqual([]);
  });

  it('(e) sid only: exactly that session is refused at once, the same user\'s other session stays', async () => {
    const ended = await signIn('cm-sid-user', 'cm-sid-a');
    const kept = await signIn('cm-sid-user', 'cm-sid-b');
    const res = await post(await h.idp.logoutToken({ claims: { sub: undefined, sid: 'cm-sid-a' } }));
    expect(res.statusCode).toBe(200);
    expectRefused(await get(gw(), ended));
    expect((await get(gw(), kept)).statusCode).toBe(200);
  });

  it('RP-initiated logout of a federated session: 200, and the captured copy is refused at once', async () => {
    const captured = await signIn('cm-rp', 'cm-sid-rp');
    const res = await send(gw(), 'POST', '/auth/logout', captured);
    expect(res.statusCode).toBe(200);
    expectRefused(await get(gw(), captured));
  });

  it('control: an invalid logout token (another provider\'s signature) ends nothing: the cookie still works', async () => {
    const cookie = await signIn('cm-control', 'cm-sid-control');
    const res = await post(await h.idp.logoutToken({ claims: { sub: 'cm-control' }, sign: 'foreign-key' }));
    expect(res.statusCode).toBe(400);
    expect((await get(gw(), cookie)).statusCode).toBe(200);
  });
});
