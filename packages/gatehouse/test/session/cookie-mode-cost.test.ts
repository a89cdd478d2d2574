/**
 * Cookie mode, what a request costs the session store: nothing between revalidations (the cookie
 * is the session), one read (and the registry slide) at each revalidation; server mode reads the
 * store on every request. Counted by a wrapper around the memory store that records every call.
 *
 * The revocation lookup of each request is not counted here: with `deps.store` the gateway builds
 * its own memory revocation list, which GatehouseDeps offers no way to replace. That it is asked
 * on every request is what cookie-mode-revocation.test.ts shows (a revoked copy refused at once).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/backends/stores/memory.js';
import type { SessionStore } from '../../src/session/model.js';
import { login, type TestClock, type TestGateway } from '../helpers/gateway.js';
import { cookieGateway, get, jarAfter, REVALIDATE, written } from './cookie-mode-fixture.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** A memory store whose every method call is counted by name. */
function countingStore(clock: TestClock): { store: SessionStore; calls: Map<string, number>; reset(): void } {
  const calls = new Map<string, number>();
  const inner = createMemoryStore({ clock });
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls, reset: () => calls.clear() };
}

async function gatewayCounting(mode: 'cookie' | 'server') {
  let counting: ReturnType<typeof countingStore> | undefined;
  gw = await cookieGateway({
    session: { mode },
    store: (clock) => {
      counting = countingStore(clock);
      return counting.store;
    },
  });
  return { gw, counting: counting as ReturnType<typeof countingStore> };
}

const snapshot = (calls: Map<string, number>) => Object.fromEntries([...calls].sort());

describe('store calls per authenticated request', () => {
  it('cookie mode: none between revalidations (slides included), one get + one touch at the revalidation, none again after', async () => {
    const { gw: g, counting } = await gatewayCounting('cookie');
    let cookie = await login(g);
    counting.reset();
    // 29 requests 10 s apart (4 min 50 s): the idle expiry slides in the cookie several times.
    let reissued = 0;
    for (let i = 0; i < 29; i++) {
      g.clock.advance(10_000);
      const res = await get(g, cookie);
      expect(res.statusCode).toBe(200);
      if (written(res).length > 0) reissued++;
      cookie = jarAfter(cookie, res);
      expect((await get(g, cookie, '/files/report.txt')).statusCode).toBe(200);
    }
    expect(reissued).toBeGreaterThan(0);
    expect(snapshot(counting.calls)).toEqual({});

    // Past revalidateEvery since sign-in: one read of the registry, one slide of it.
    g.clock.advance(REVALIDATE - 29 * 10_000);
    const checked = await get(g, cookie);
    expect(checked.statusCode).toBe(200);
    expect(snapshot(counting.calls)).toEqual({ get: 1, touch: 1 });
    cookie = jarAfter(cookie, checked);
    counting.reset();
    for (let i = 0; i < 5; i++) {
      g.clock.advance(10_000);
      const res = await get(g, cookie);
      expect(res.statusCode).toBe(200);
      cookie = jarAfter(cookie, res);
    }
    expect(snapshot(counting.calls)).toEqual({});
  });

  it('server mode: one store.get per request (the contrast cookie mode exists for)', async () => {
    const { gw: g, counting } = await gatewayCounting('server');
    const cookie = await login(g);
    counting.reset();
    for (let i = 0; i < 10; i++) {
      g.clock.advance(1_000);
      expect((await get(g, cookie)).statusCode).toBe(200);
    }
    expect(counting.calls.get('get')).toBe(10);
  });

  it('cookie mode: a request with no cookie, or a refused one, costs no store call either', async () => {
    const { gw: g, counting } = await gatewayCounting('cookie');
    const cookie = await login(g);
    counting.reset();
    expect((await get(g, undefined)).statusCode).toBe(401);
    expect((await get(g, `${cookie.slice(0, -2)}xx`)).statusCode).toBe(401);
    expect(snapshot(counting.calls)).toEqual({});
  });
});
