import * as argon2 from '@node-rs/argon2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatehouseError } from '../../src/errors.js';
import { type AccountStore, createAccountStore } from '../../src/local/accounts.js';
import { createLocalLogin, type LocalLogin, MAX_HASHING, MAX_PENDING, MAX_PENDING_PER_ADDRESS, SHARED_PENDING, toSessionUser } from '../../src/local/login.js';
import { createLoginThrottle } from '../../src/local/throttle.js';
import { type FakeClock, fakeClock } from './fake-clock.js';

// Wrap the real argon2 so tests can count verifications.
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});

const PASSWORD = 'correct horse battery staple';
const IP = '203.0.113.7';

async function failure(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

describe('local login', () => {
  let clock: FakeClock;
  let accounts: AccountStore;
  let login: LocalLogin;

  beforeEach(async () => {
    clock = fakeClock();
    accounts = createAccountStore('memory', { clock });
    await accounts.add({ username: 'alice', password: PASSWORD, roles: ['admin'], name: 'Alice' });
    const throttle = createLoginThrottle({
      clock,
      accountFailures: 3,
      addressFailures: 10,
      window: 15 * 60_000,
      lockout: 60_000,
      maxLockout: 15 * 60_000,
    });
    login = createLocalLogin({ accounts, throttle, clock });
    vi.mocked(argon2.verify).mockClear();
  });
  afterEach(() => accounts.close());

  it('returns the account, without its hash, for the right password', async () => {
    const account = await login.authenticate(' Alice', PASSWORD, IP);
    expect(account).toMatchObject({ username: 'alice', name: 'Alice', roles: ['admin'] });
    expect(account).not.toHaveProperty('passwordHash');
    expect(toSessionUser(account)).toEqual({ id: account.id, username: 'alice', name: 'Alice', roles: ['admin'] });
  });

  it('answers an unknown user and a wrong password identically, both after an argon2 verification', async () => {
    const wrong = await failure(login.authenticate('alice', 'not the password', IP));
    expect(argon2.verify).toHaveBeenCalledTimes(1);
    const unknown = await failure(login.authenticate('mallory', 'not the password', IP));
    // The unknown user costs the same work: a verification against the dummy hash.
    expect(argon2.verify).toHaveBeenCalledTimes(2);
    expect(vi.mocked(argon2.verify).mock.calls[1]?.[0]).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    for (const error of [wrong, unknown]) {
      expect(error.code).toBe('invalid_credentials');
      expect(error.status).toBe(401);
      expect(error.headers).toEqual({});
    }
    expect(unknown.message).toBe(wrong.message);
    expect(unknown.toJSON()).toEqual(wrong.toJSON());
  });

  it('throttles with 429 and Retry-After, refusing even the right password without verifying it', async () => {
    for (let i = 0; i < 3; i++) await failure(login.authenticate('alice', 'wrong password', IP));
    vi.mocked(argon2.verify).mockClear();
    const error = await failure(login.authenticate('alice', PASSWORD, '198.51.100.1'));
    expect(error.code).toBe('login_throttled');
    expect(error.status).toBe(429);
    expect(error.headers).toEqual({ 'Retry-After': '60' });
    expect(argon2.verify).not.toHaveBeenCalled();

    clock.advance(60_000);
    await expect(login.authenticate('alice', PASSWORD, IP)).resolves.toMatchObject({ username: 'alice' });
  });

  it('locks an unknown username exactly like a known one', async () => {
    const outcomes: string[] = [];
    for (const username of ['alice', 'nobody']) {
      for (let i = 0; i < 4; i++) outcomes.push((await failure(login.authenticate(username, 'wrong password', IP))).code);
    }
    const lockout = ['invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'login_throttled'];
    expect(outcomes).toEqual([...lockout, ...lockout]);
  });

  it('a success resets the account count', async () => {
    await failure(login.authenticate('alice', 'wrong password', IP));
    await failure(login.authenticate('alice', 'wrong password', IP));
    await login.authenticate('alice', PASSWORD, IP);
    await failure(login.authenticate('alice', 'wrong password', IP));
    await failure(login.authenticate('alice', 'wrong password', IP));
    await expect(login.authenticate('alice', PASSWORD, IP)).resolves.toMatchObject({ username: 'alice' });
  });

  it('refuses a password over 1024 bytes with 413 before the throttle or argon2, and without counting it', async () => {
    for (let i = 0; i < 5; i++) {
      const error = await failure(login.authenticate('alice', 'x'.repeat(1025), IP));
      expect(error).toMatchObject({ code: 'payload_too_large', status: 413, message: 'Password too long (max 1024 bytes).' });
    }
    expect(argon2.verify).not.toHaveBeenCalled();
    await expect(login.authenticate('alice', PASSWORD, IP)).resolves.toMatchObject({ username: 'alice' });
  });

  it('refuses an oversized username with 413 before any work', async () => {
    const error = await failure(login.authenticate('u'.repeat(1025), PASSWORD, IP));
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(argon2.verify).not.toHaveBeenCalled();
  });

  it('serializes parallel guesses for one username, so a burst cannot outrun the lock', async () => {
    const burst = await Promise.allSettled(
      Array.from({ length: 10 }, () => login.authenticate('alice', 'wrong password', IP)),
    );
    const codes = burst.map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok'));
    expect(codes.filter((c) => c === 'invalid_credentials')).toHaveLength(3);
    expect(codes.filter((c) => c === 'login_throttled')).toHaveLength(7);
    expect(argon2.verify).toHaveBeenCalledTimes(3);
  });

  it('treats a username that could never exist as unknown (same error, same argon2 work)', async () => {
    const error = await failure(login.authenticate('bad\u0000name', 'wrong password', IP));
    expect(error.code).toBe('invalid_credentials');
    expect(argon2.verify).toHaveBeenCalledTimes(1);
  });

  it('a parallel burst from one address cannot pass the address limit, nor learn a correct guess from it', async () => {
    // 12 guesses at once, 11 for other usernames and the last one alice's correct password: only
    // MAX_PENDING_PER_ADDRESS may wait at once; the rest are refused without hashing, and the
    // correct one is refused exactly like the other late ones.
    const attempts = Array.from({ length: 11 }, (_, i) => login.authenticate(`user${i}`, 'wrong password', IP));
    attempts.push(login.authenticate('alice', PASSWORD, IP));
    const results = await Promise.allSettled(attempts);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok'));
    expect(codes).toEqual([
      ...Array(MAX_PENDING_PER_ADDRESS).fill('invalid_credentials'),
      ...Array(12 - MAX_PENDING_PER_ADDRESS).fill('login_throttled'),
    ]);
    expect(argon2.verify).toHaveBeenCalledTimes(MAX_PENDING_PER_ADDRESS);
  });

  it('sequential guesses from one address stop at the address limit, and a correct guess then gets the same 429', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      codes.push(await login.authenticate(`user${i}`, 'wrong password', IP).then(() => 'ok', (e: GatehouseError) => e.code));
    }
    expect(codes).toEqual([...Array(10).fill('invalid_credentials'), 'login_throttled', 'login_throttled']);
    const correct = await failure(login.authenticate('alice', PASSWORD, IP));
    expect(correct.code).toBe('login_throttled');
    // Another address is unaffected.
    expect((await login.authenticate('alice', PASSWORD, '198.51.100.1')).username).toBe('alice');
  });

  it('caps sign-ins waiting for one username over all addresses: a parallel burst from many addresses gets MAX_PENDING_PER_ADDRESS places, the rest 429', async () => {
    const attempts = Array.from({ length: 10 }, (_, i) => login.authenticate('alice', 'wrong password', `198.51.100.${i + 1}`));
    // Another username is not held up by alice's queue.
    // Its refusal is awaited below: take it now, so it is never an unhandled rejection meanwhile.
    const bob = failure(login.authenticate('bob', 'wrong password', '192.0.2.200'));
    const codes = (await Promise.allSettled(attempts)).map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok'));
    // 4 admitted (3 verified, then the lock refuses the 4th), 6 refused at once.
    expect(codes).toEqual([...Array(3).fill('invalid_credentials'), ...Array(7).fill('login_throttled')]);
    expect((await bob).code).toBe('invalid_credentials');
    expect(argon2.verify).toHaveBeenCalledTimes(4);
  });

  it('when the global bound is full of a flood, a sign-in from a new address is admitted ahead of the backlog (the flood gets 503)', async () => {
    // 10 flooding addresses × 4 = 40 places wanted; SHARED_PENDING (24) exist for clients without a
    // device cookie (the other 8 are the reserved lane's).
    const flood = Array.from({ length: 40 }, (_, i) => login.authenticate(`sprayed${i}`, 'wrong password', `198.51.100.${(i % 10) + 1}`));
    const legit = login.authenticate('alice', PASSWORD, IP);
    expect(login.load().waiting).toBeLessThanOrEqual(SHARED_PENDING);
    const codes = (await Promise.allSettled(flood)).map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok'));
    await expect(legit).resolves.toMatchObject({ username: 'alice' });
    // The flood alone paid: 16 refused when full, and one more evicted to make room for alice.
    expect(codes.filter((c) => c === 'server_busy')).toHaveLength(40 - SHARED_PENDING + 1);
    expect(codes.filter((c) => c === 'invalid_credentials')).toHaveLength(SHARED_PENDING - 1);
    expect(login.load()).toMatchObject({ hashing: 0, waiting: 0 });
    expect(login.load().peakHashing).toBeLessThanOrEqual(MAX_HASHING);
  });

  it('bounds sign-ins in flight over all addresses: 503 server_busy beyond the cap, no hashing', async () => {
    const attempts = Array.from({ length: MAX_PENDING + 8 }, (_, i) => login.authenticate(`user${i}`, 'wrong password', `198.51.100.${i + 1}`));
    const results = await Promise.allSettled(attempts);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as GatehouseError).code : 'ok'));
    // Sign-ins without a device cookie get the shared places only; the reserved ones stay free.
    expect(codes.filter((c) => c === 'server_busy')).toHaveLength(MAX_PENDING + 8 - SHARED_PENDING);
    expect(codes.filter((c) => c === 'invalid_credentials')).toHaveLength(SHARED_PENDING);
    expect(argon2.verify).toHaveBeenCalledTimes(SHARED_PENDING);
  });
});
