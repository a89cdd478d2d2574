/**
 * Cookie mode across a key rotation, as an operator does it: the gateway restarts with a rotated
 * ring (new current key first, the old one kept for `keys.gracePeriod`) on the same durable store
 * (SQLite here: sessions, revocations and accounts in one file). A cookie sealed under the old key
 * still opens and comes back re-sealed under the new one; once the grace period is over it is no
 * session, to the millisecond, while the re-issued cookie lives on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey, type SecretKey } from '../../src/keys/keyring.js';
import { login, testClock, type TestClock, type TestGateway } from '../helpers/gateway.js';
import { cookieGateway, expectRefused, get, headerOf, jarAfter, MINUTE, payloadOf, ringOf, written } from './cookie-mode-fixture.js';

const GRACE = 60 * MINUTE;

let dir: string;
let open: TestGateway[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cookie-rotation-'));
});
afterEach(async () => {
  for (const gw of open.reverse()) await gw.close();
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

/** One gateway process on the shared SQLite file, with this ring; idle timeout above the grace period. */
async function start(clock: TestClock, keys: SecretKey[], seed: boolean): Promise<TestGateway> {
  const file = `sqlite:${join(dir, 'gatehouse.db')}`;
  const gw = await cookieGateway({
    clock,
    seed,
    session: { store: file, idleTimeout: '2h', absoluteTimeout: '12h' },
    config: { local: { enabled: true, store: file } },
    deps: { keys: ringOf(clock, keys, GRACE) },
  });
  open.push(gw);
  return gw;
}

async function stop(gw: TestGateway): Promise<void> {
  open = open.filter((g) => g !== gw);
  await gw.close();
}

describe('rotation: restart with [key 2, key 1] and a one-hour grace period', () => {
  it('the old cookie works and comes back sealed under key 2 (same session, same absolute expiry); after the grace period it is refused and cleared', async () => {
    const clock = testClock();
    const key1 = generateKey(clock());
    const before = await start(clock, [key1], true);
    const old = await login(before);
    expect(headerOf(old).kid).toBe(key1.kid);
    const sealed = await payloadOf(before, old);
    await stop(before);

    clock.advance(MINUTE);
    const key2 = generateKey(clock());
    const after = await start(clock, [key2, key1], false);
    const res = await get(after, old);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.username).toBe('alice');
    // Re-issued in the same answer under the new current key.
    expect(written(res)).toHaveLength(1);
    const renewed = jarAfter(old, res);
    expect(headerOf(renewed)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: key2.kid, cty: 'session-cookie' });
    const payload = await payloadOf(after, renewed);
    expect(payload?.id).toBe(sealed?.id);
    expect(payload?.e).toBe(sealed?.e);
    // Under key 2 already: nothing to re-issue.
    const again = await get(after, renewed);
    expect(again.statusCode).toBe(200);
    expect(written(again)).toEqual([]);

    // The last millisecond of key 1's grace period (from key 2's creation): the old cookie still opens.
    clock.advance(key2.createdAt + GRACE - 1 - clock());
    expect((await get(after, old)).statusCode).toBe(200);
    clock.advance(1);
    expectRefused(await get(after, old));
    // The re-issued cookie is the same session, unaffected.
    const live = await get(after, renewed);
    expect(live.statusCode).toBe(200);
    expect(headerOf(jarAfter(renewed, live)).kid).toBe(key2.kid);
  });

  it('an instance still on the old ring (a rollback) does not open a cookie sealed under key 2: 401, cleared', async () => {
    const clock = testClock();
    const key1 = generateKey(clock());
    const first = await start(clock, [key1], true);
    await stop(first);
    const key2 = generateKey(clock());
    const rotated = await start(clock, [key2, key1], false);
    const cookie = await login(rotated);
    expect(headerOf(cookie).kid).toBe(key2.kid);
    await stop(rotated);
    const rolledBack = await start(clock, [key1], false);
    expectRefused(await get(rolledBack, cookie));
  });

  it('control: restarted with the same ring on the same file, the cookie works without a re-issue (the refusal above is the key, not the restart)', async () => {
    const clock = testClock();
    const key1 = generateKey(clock());
    const first = await start(clock, [key1], true);
    const cookie = await login(first);
    await stop(first);
    const again = await start(clock, [key1], false);
    const res = await get(again, cookie);
    expect(res.statusCode).toBe(200);
    expect(written(res)).toEqual([]);
  });
});
