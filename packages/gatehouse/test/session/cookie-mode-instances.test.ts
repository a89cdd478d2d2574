/**
 * Cookie mode across gateway processes. Two instances behind one load balancer share a Redis (the
 * registry and the revocation list) and one key ring: a session ended on one is refused by the
 * other on the very next request. A restart keeps what the backend keeps: on Redis or SQLite the
 * cookie and its revocation outlive the process; on the memory store the revocation list is gone,
 * so its epoch ends every cookie issued before the restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKeyRing, generateKey, type KeyRing } from '../../src/keys/keyring.js';
import { login, PASSWORD, testClock, type TestClock, type TestGateway } from '../helpers/gateway.js';
import { deleteKeys } from '../helpers/redis-server.js';
import { describeWithRedis, REDIS_URL, runId } from '../helpers/services.js';
import { cookieGateway, expectRefused, get, send, written } from './cookie-mode-fixture.js';

let dir: string;
let open: TestGateway[] = [];
let clock: TestClock;
let keys: KeyRing;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cookie-instances-'));
  clock = testClock();
  keys = createKeyRing([generateKey(clock())]);
  open = [];
});
afterEach(async () => {
  for (const gw of open.reverse()) await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One instance: its session backend, the shared key ring and clock, accounts in one SQLite file. */
async function instance(store: string, seed: boolean, redisPrefix?: string): Promise<TestGateway> {
  const gw = await cookieGateway({
    clock,
    seed,
    session: { store },
    config: {
      local: { enabled: true, store: `sqlite:${join(dir, 'accounts.db')}` },
      ...(redisPrefix ? { redis: { keyPrefix: redisPrefix, connectTimeout: '2s', commandTimeout: '2s' } } : {}),
    },
    deps: { keys },
  });
  open.push(gw);
  return gw;
}

async function stop(gw: TestGateway): Promise<void> {
  open = open.filter((g) => g !== gw);
  await gw.close();
}

async function expectLive(gw: TestGateway, cookie: string): Promise<void> {
  const res = await get(gw, cookie);
  expect(res.statusCode).toBe(200);
  expect(res.json().user.username).toBe('alice');
}

let n = 0;
describeWithRedis('two instances on one Redis', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = `gh-test:${runId}:cookie-mode:${++n}:`;
  });
  afterEach(async () => {
    await deleteKeys(REDIS_URL, prefix);
  });

  it('a cookie from A works on B; logout on A → refused on B at once (and on A), cleared', async () => {
    const a = await instance(REDIS_URL, true, prefix);
    const b = await instance(REDIS_URL, false, prefix);
    const cookie = await login(a);
    const other = await login(a);
    await expectLive(b, cookie);
    expect((await send(a, 'POST', '/auth/logout', cookie)).statusCode).toBe(200);
    expectRefused(await get(b, cookie));
    expectRefused(await get(a, cookie));
    // Only that session: alice's other one goes on, on both.
    await expectLive(b, other);
    await expectLive(a, other);
  });

  it('sign out everywhere on B → the other sessions are refused on A at once; a password change on A → refused on B', async () => {
    const a = await instance(REDIS_URL, true, prefix);
    const b = await instance(REDIS_URL, false, prefix);
    const onA = await login(a);
    const onB = await login(b);
    const res = await send(b, 'DELETE', '/auth/sessions', onB);
    expect(res.json()).toEqual({ revoked: 1 });
    expectRefused(await get(a, onA));
    await expectLive(a, onB);

    const changed = await send(a, 'POST', '/auth/password', await login(a), { currentPassword: PASSWORD, newPassword: 'a new long passphrase' });
    expect(changed.statusCode).toBe(200);
    expectRefused(await get(b, onB));
  });

  it('a restart on the same Redis keeps the cookie and keeps its revocation', async () => {
    const a = await instance(REDIS_URL, true, prefix);
    const kept = await login(a);
    const ended = await login(a);
    expect((await send(a, 'POST', '/auth/logout', ended)).statusCode).toBe(200);
    await stop(a);
    const restarted = await instance(REDIS_URL, false, prefix);
    await expectLive(restarted, kept);
    expectRefused(await get(restarted, ended));
  });
});

describe('restart on the memory store', () => {
  it('the same keys, a fresh memory store: a cookie from before the restart is no session (epoch), cleared', async () => {
    const before = await instance('memory', true);
    const cookie = await login(before);
    await expectLive(before, cookie);
    await stop(before);
    const after = await instance('memory', false);
    expectRefused(await get(after, cookie));
    // Signing in again works: the account is intact, only the session is gone.
    await expectLive(after, await login(after));
  });

  it('control: the same restart on a SQLite store keeps the cookie, with no re-issue (the refusal above is the epoch)', async () => {
    const file = `sqlite:${join(dir, 'sessions.db')}`;
    const before = await instance(file, true);
    const cookie = await login(before);
    await stop(before);
    const after = await instance(file, false);
    const res = await get(after, cookie);
    expect(res.statusCode).toBe(200);
    expect(written(res)).toEqual([]);
  });

  it('two memory-store instances running side by side do not accept each other\'s cookies (each has its own list)', async () => {
    const a = await instance('memory', true);
    const b = await instance('memory', false);
    const cookie = await login(a);
    await expectLive(a, cookie);
    expectRefused(await get(b, cookie));
  });
});
