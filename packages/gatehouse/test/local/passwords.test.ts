import * as argon2 from '@node-rs/argon2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatehouseError } from '../../src/errors.js';
import {
  hashPassword,
  MAX_PASSWORD_BYTES,
  MIN_PASSWORD_LENGTH,
  newPasswordProblem,
  PASSWORD_HASH_PARAMS,
  verifyPassword,
} from '../../src/local/passwords.js';

// Wrap the real argon2 so tests can prove what was (not) hashed.
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});

afterEach(() => {
  vi.mocked(argon2.hash).mockClear();
  vi.mocked(argon2.verify).mockClear();
});

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` → its parts. */
function parsePhc(phc: string) {
  const [empty, id, version, params, salt, digest, ...rest] = phc.split('$');
  expect(empty).toBe('');
  expect(rest).toEqual([]);
  return {
    id,
    version,
    params: Object.fromEntries((params ?? '').split(',').map((kv) => kv.split('='))),
    salt: Buffer.from(salt ?? '', 'base64'),
    digest: Buffer.from(digest ?? '', 'base64'),
  };
}

describe('hashPassword', () => {
  it('produces argon2id with the OWASP parameters m=19456, t=2, p=1', async () => {
    expect(PASSWORD_HASH_PARAMS).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const phc = parsePhc(await hashPassword('correct horse battery staple'));
    expect(phc.id).toBe('argon2id');
    expect(phc.version).toBe('v=19');
    expect(phc.params).toEqual({ m: '19456', t: '2', p: '1' });
    expect(phc.salt.length).toBe(16);
    expect(phc.digest.length).toBe(32);
  });

  it('salts: the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
  });
});

describe('verifyPassword', () => {
  it('is true for the password and false for another', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery stapler')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
  });

  it('never truncates: the 200th character of a long password matters', async () => {
    const long = `${'x'.repeat(199)}A${'y'.repeat(300)}`;
    const hash = await hashPassword(long);
    expect(await verifyPassword(hash, long)).toBe(true);
    expect(await verifyPassword(hash, `${'x'.repeat(199)}B${'y'.repeat(300)}`)).toBe(false);
    // And the last byte of a maximum-length password too.
    const max = `${'z'.repeat(MAX_PASSWORD_BYTES - 1)}1`;
    const maxHash = await hashPassword(max);
    expect(await verifyPassword(maxHash, `${'z'.repeat(MAX_PASSWORD_BYTES - 1)}2`)).toBe(false);
  });

  it('returns false, not throw, on a malformed or foreign hash', async () => {
    for (const bad of ['', 'not a hash', '$argon2id$v=19$m=19456,t=2,p=1$$', '$2b$10$abcdefghijklmnopqrstuv']) {
      await expect(verifyPassword(bad, 'whatever password')).resolves.toBe(false);
    }
  });

  it('normalizes to NFKC at hash and verify: composed, decomposed and full-width forms match', async () => {
    const hash = await hashPassword('caf\u00e9 ＡＢＣ secret');
    expect(await verifyPassword(hash, 'cafe\u0301 ABC secret')).toBe(true);
    expect(await verifyPassword(hash, 'cafe ABC secret')).toBe(false);
  });
});

describe('MAX_PASSWORD_BYTES', () => {
  it('is 1024 UTF-8 bytes: 1024 is accepted, 1025 refused with payload_too_large before any hashing', async () => {
    await expect(hashPassword('a'.repeat(1024))).resolves.toMatch(/^\$argon2id\$/);
    expect(argon2.hash).toHaveBeenCalledTimes(1); // the spy sees real calls
    vi.mocked(argon2.hash).mockClear();

    const error = await hashPassword('a'.repeat(1025)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413, message: 'Password too long (max 1024 bytes).' });
    expect(argon2.hash).not.toHaveBeenCalled();
  });

  it('counts bytes, not characters: 342 three-byte characters are too long', async () => {
    const euro = '\u20ac'.repeat(342); // 1026 bytes, 342 characters
    await expect(hashPassword(euro)).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(verifyPassword('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA', euro)).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect(argon2.hash).not.toHaveBeenCalled();
    expect(argon2.verify).not.toHaveBeenCalled();
  });
});

describe('newPasswordProblem', () => {
  it(`refuses fewer than ${MIN_PASSWORD_LENGTH} code points and accepts ${MIN_PASSWORD_LENGTH}`, () => {
    expect(MIN_PASSWORD_LENGTH).toBe(8);
    expect(newPasswordProblem('1234567')).toMatch(/at least 8/);
    expect(newPasswordProblem('12345678')).toBeNull();
    // Code points, not UTF-16 units: 7 emoji are 14 units but still too short.
    expect(newPasswordProblem('😀'.repeat(7))).toMatch(/at least 8/);
    expect(newPasswordProblem('😀'.repeat(8))).toBeNull();
  });

  it('refuses the username as the password, and lone surrogates', () => {
    expect(newPasswordProblem('Alice-Smith', 'alice-smith')).toMatch(/username/);
    expect(newPasswordProblem('abcdefgh\ud800')).toMatch(/invalid/);
  });
});
