import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { parseCookies } from '../../src/cookies/request-cookies.js';
import { antiForgeryToken, verifyAntiForgeryToken } from '../../src/csrf/token.js';
import { BootError } from '../../src/errors.js';
import {
  createKeyRing,
  generateKey,
  loadOrCreateKeyRing,
  MAX_KEYS,
  readKeyFile,
  rotateKeyFile,
  type SecretKey,
  serializeKeyRing,
} from '../../src/keys/keyring.js';
import { openKeyRing } from '../../src/keys/open.js';
import { seal, unseal } from '../../src/keys/seal.js';
import { subkey } from '../../src/keys/subkey.js';
import { createDeviceCookies } from '../../src/local/device-cookie.js';
import { fakeClock } from '../local/fake-clock.js';

const HOUR = 3_600_000;
const GRACE = 12 * HOUR;
const VALUE = { sub: 'alice', n: 1 };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-keyring-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A validated configuration with its dataDir in the test folder; `env` as GATEHOUSE_* variables. */
function config(keys: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return resolveConfig({ publicOrigin: 'https://app.example', dataDir: dir, keys }, { baseDir: dir, env });
}

function keyWith(kid: string, createdAt: number): SecretKey {
  return { ...generateKey(createdAt), kid };
}

function codeAndMessage(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BootError);
    return { code: (error as BootError).code, message: (error as Error).message };
  }
  throw new Error('expected a BootError');
}

describe('key ring rotation with a grace period', () => {
  it('after a rotation the new key seals and the old one opens until its grace ends, then it is retired', async () => {
    const clock = fakeClock();
    const file = join(dir, 'keys.json');
    const first = loadOrCreateKeyRing(file, { clock, gracePeriodMs: GRACE });
    const kid1 = first.current.kid;
    const sealed = await seal(first, 'session-cookie', VALUE);

    clock.advance(HOUR);
    rotateKeyFile(file, { clock, gracePeriodMs: GRACE });
    const ring = loadOrCreateKeyRing(file, { clock, gracePeriodMs: GRACE });
    expect(ring.current.kid).not.toBe(kid1);
    expect(ring.current.createdAt).toBe(clock.now);
    expect(ring.keys.map((k) => k.kid)).toEqual([ring.current.kid, kid1]);
    expect(await unseal(ring, 'session-cookie', sealed)).toEqual(VALUE);
    const resealed = await seal(ring, 'session-cookie', VALUE);
    expect(JSON.parse(Buffer.from(resealed.split('.')[0] as string, 'base64url').toString()).kid).toBe(ring.current.kid);

    // One millisecond before the grace ends the old key still opens; at the end it does not.
    clock.advance(GRACE - 1);
    expect(ring.find(kid1)?.kid).toBe(kid1);
    clock.advance(1);
    expect(ring.find(kid1)).toBeUndefined();
    expect(await unseal(ring, 'session-cookie', sealed)).toBeNull();
    // The current key is never retired, and what it sealed still opens.
    expect(ring.find(ring.current.kid)).toBe(ring.current);
    expect(await unseal(ring, 'session-cookie', resealed)).toEqual(VALUE);
  });

  it('retirement applies to every use of the ring: CSRF tokens under a retired key stop verifying', () => {
    const clock = fakeClock();
    const old = keyWith('old', clock.now - 2 * GRACE);
    const current = keyWith('new', clock.now);
    const ring = createKeyRing([current, old], { clock, gracePeriodMs: GRACE });
    const token = antiForgeryToken(createKeyRing([old]), 'session-a');
    expect(verifyAntiForgeryToken(ring, 'session-a', token)).toBe(true);
    clock.advance(GRACE);
    expect(verifyAntiForgeryToken(ring, 'session-a', token)).toBe(false);
  });

  it('without options (the old call shape) a ring never retires a key', async () => {
    const clock = fakeClock();
    const old = keyWith('old', 0);
    const sealed = await seal(createKeyRing([old]), 'oidc-tokens', VALUE);
    const ring = createKeyRing([keyWith('new', 1), old]);
    expect(ring.find('old')).toBe(old);
    expect(await unseal(ring, 'oidc-tokens', sealed)).toEqual(VALUE);
    expect(createKeyRing([keyWith('new', 1), old], { clock }).find('old')).toBe(old);
  });

  it('a key file whose keys are all retired except the current one: the current key works, the others open nothing', async () => {
    const clock = fakeClock();
    const t0 = clock.now;
    const keys = [keyWith('cur', t0), keyWith('old1', t0 - HOUR), keyWith('old2', t0 - 2 * HOUR)];
    const file = join(dir, 'keys.json');
    writeFileSync(file, serializeKeyRing(keys));
    const sealedOld = await seal(createKeyRing([keys[1] as SecretKey]), 'login-transaction', VALUE);
    clock.advance(GRACE);

    const ring = loadOrCreateKeyRing(file, { clock, gracePeriodMs: GRACE });
    expect(ring.current.kid).toBe('cur');
    expect(ring.find('old1')).toBeUndefined();
    expect(ring.find('old2')).toBeUndefined();
    expect(await unseal(ring, 'login-transaction', sealedOld)).toBeNull();
    const sealed = await seal(ring, 'login-transaction', VALUE);
    expect(await unseal(ring, 'login-transaction', sealed)).toEqual(VALUE);
  });

  it('rotate prunes the keys already retired and keeps those within their grace', () => {
    const clock = fakeClock();
    const t0 = clock.now;
    // cur replaced mid at t0; mid replaced old at t0 - 2 grace: old is retired, mid not yet.
    const keys = [keyWith('cur', t0), keyWith('mid', t0 - 2 * GRACE), keyWith('old', t0 - 3 * GRACE)];
    const file = join(dir, 'keys.json');
    writeFileSync(file, serializeKeyRing(keys));
    clock.advance(HOUR);

    const { ring, pruned, dropped } = rotateKeyFile(file, { clock, gracePeriodMs: GRACE });
    expect(pruned.map((k) => k.kid)).toEqual(['old']);
    expect(dropped).toEqual([]);
    expect(ring.keys.map((k) => k.kid)).toEqual([ring.current.kid, 'cur', 'mid']);
    expect(readKeyFile(file).map((k) => k.kid)).toEqual([ring.current.kid, 'cur', 'mid']);
    // The file stays private: it holds the secrets.
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it(`a rotate loop cannot grow the file past ${MAX_KEYS} keys, even within the grace period`, () => {
    const clock = fakeClock();
    const file = join(dir, 'keys.json');
    let last = rotateKeyFile(file, { clock, gracePeriodMs: GRACE });
    for (let i = 0; i < MAX_KEYS + 4; i++) {
      clock.advance(1);
      last = rotateKeyFile(file, { clock, gracePeriodMs: GRACE });
    }
    expect(readKeyFile(file)).toHaveLength(MAX_KEYS);
    expect(last.ring.keys).toHaveLength(MAX_KEYS);
    expect(last.dropped).toHaveLength(1);
  });
});

describe('openKeyRing: the ring of a configuration', () => {
  it('without keys.ring: dataDir/keys.json, created when missing, with the grace of session.absoluteTimeout', async () => {
    const clock = fakeClock();
    const cfg = config();
    const ring = openKeyRing(cfg, { clock });
    const file = join(dir, 'keys.json');
    expect(readKeyFile(file).map((k) => k.kid)).toEqual([ring.current.kid]);
    const sealed = await seal(ring, 'session-cookie', VALUE);
    const kid1 = ring.current.kid;

    rotateKeyFile(file, { clock, gracePeriodMs: cfg.session.absoluteTimeout });
    const rotated = openKeyRing(cfg, { clock });
    expect(await unseal(rotated, 'session-cookie', sealed)).toEqual(VALUE);
    clock.advance(12 * HOUR); // the default absoluteTimeout
    expect(rotated.find(kid1)).toBeUndefined();
  });

  it('keys.gracePeriod overrides the default', () => {
    const clock = fakeClock();
    writeFileSync(join(dir, 'keys.json'), serializeKeyRing([keyWith('cur', clock.now), keyWith('old', clock.now - 1)]));
    const ring = openKeyRing(config({ gracePeriod: '30m' }), { clock });
    clock.advance(30 * 60_000 - 1);
    expect(ring.find('old')?.kid).toBe('old');
    clock.advance(1);
    expect(ring.find('old')).toBeUndefined();
  });

  it('the env ring (GATEHOUSE_KEYS__RING) opens what the key file it was exported from sealed, and writes no file', async () => {
    const clock = fakeClock();
    const source = join(dir, 'source', 'keys.json');
    const fileRing = loadOrCreateKeyRing(source, { clock });
    const exported = serializeKeyRing(readKeyFile(source));
    expect(exported).not.toContain('\n');
    const sealed = await seal(fileRing, 'session-cookie', VALUE);

    // Two instances given the same value: each opens what the other sealed.
    const env = { GATEHOUSE_KEYS__RING: exported };
    const a = openKeyRing(config({}, env), { clock });
    const b = openKeyRing(config({}, env), { clock });
    expect(a.current.kid).toBe(fileRing.current.kid);
    expect(await unseal(a, 'session-cookie', sealed)).toEqual(VALUE);
    expect(await unseal(b, 'session-cookie', await seal(a, 'session-cookie', VALUE))).toEqual(VALUE);
    expect(verifyAntiForgeryToken(b, 'sid', antiForgeryToken(a, 'sid'))).toBe(true);
    expect(() => statSync(join(dir, 'keys.json'))).toThrow(/ENOENT/);
  });

  it('a malformed keys.ring is GH_KEYRING_UNREADABLE naming the key and the fix, and never echoes the secret', () => {
    const secret = generateKey().secret.toString('base64url');
    const bodies = [
      `{"keys":[{"kid":"a","k":"${secret}","createdAt":1}`, // truncated
      `{"keys":[{"kid":"a","k":${secret},"createdAt":1}]}`, // unquoted
      '{"keys":[]}',
      'null',
      '[1]',
      '',
      '{"keys":[null]}',
      '{"keys":[{"kid":"a","k":"c2hvcnQ","createdAt":1}]}',
      `{"keys":[{"kid":"a.b","k":"${secret}","createdAt":1}]}`,
      `{"keys":[{"kid":"a","k":"${secret}"}]}`,
      `{"keys":[{"kid":"a","k":"${secret}","createdAt":1},{"kid":"a","k":"${secret}","createdAt":0}]}`,
    ];
    for (const body of bodies) {
      const cfg = config({}, { GATEHOUSE_KEYS__RING: body });
      const { code, message } = codeAndMessage(() => openKeyRing(cfg));
      expect(code, body).toBe('GH_KEYRING_UNREADABLE');
      expect(message, body).toMatch(/^keys\.ring \(GATEHOUSE_KEYS__RING\) /);
      expect(message, body).toContain('gatehouse keys export --config FILE');
      expect(message, body).not.toContain(secret.slice(0, 8));
    }
    // The file gives the same refusals, naming the file instead.
    const file = join(dir, 'keys.json');
    writeFileSync(file, bodies[1] as string);
    const { code, message } = codeAndMessage(() => readKeyFile(file));
    expect(code).toBe('GH_KEYRING_UNREADABLE');
    expect(message).toMatch(new RegExp(`^key file ${file} is not valid JSON`));
    expect(message).not.toContain(secret.slice(0, 8));
  });

  it("a value sealed under another deployment's ring opens as null, even under the same kid", async () => {
    const ours = createKeyRing([generateKey()]);
    const theirs = createKeyRing([{ ...generateKey(), kid: ours.current.kid }]);
    expect(await unseal(ours, 'session-cookie', await seal(theirs, 'session-cookie', VALUE))).toBeNull();
    expect(await unseal(ours, 'session-cookie', await seal(createKeyRing([generateKey()]), 'session-cookie', VALUE))).toBeNull();
    expect(verifyAntiForgeryToken(ours, 'sid', antiForgeryToken(theirs, 'sid'))).toBe(false);
  });
});

describe('subkeys per purpose', () => {
  it('each purpose has its own key, none of them the raw secret', () => {
    const key = generateKey();
    const purposes = ['csrf', 'device-cookie', 'session-cookie', 'login-transaction', 'oidc-tokens'] as const;
    const derived = purposes.map((p) => subkey(key, p).toString('hex'));
    expect(new Set([...derived, key.secret.toString('hex')]).size).toBe(purposes.length + 1);
    expect(subkey(key, 'csrf')).toHaveLength(32);
    // Derived once: the same bytes for the same key object.
    expect(subkey(key, 'csrf')).toBe(subkey(key, 'csrf'));
  });

  it('a CSRF MAC does not verify as a device-cookie MAC, and neither is an HMAC under the raw secret', () => {
    const key = generateKey();
    const ring = createKeyRing([key]);
    const token = antiForgeryToken(ring, 'sid');
    const mac = token.slice(token.indexOf('.') + 1);
    const message = 'gatehouse-csrf\0sid';
    expect(mac).toBe(createHmac('sha256', subkey(key, 'csrf')).update(message).digest('base64url'));
    expect(mac).not.toBe(createHmac('sha256', subkey(key, 'device-cookie')).update(message).digest('base64url'));
    expect(mac).not.toBe(createHmac('sha256', key.secret).update(message).digest('base64url'));
    // A token MACed with the raw secret (the old scheme, or a leaked-secret forgery) is refused.
    const raw = `${key.kid}.${createHmac('sha256', key.secret).update(message).digest('base64url')}`;
    expect(verifyAntiForgeryToken(ring, 'sid', raw)).toBe(false);
  });

  it('a device cookie verifies only under its own subkey: raw-secret and CSRF-subkey forgeries are refused', () => {
    const clock = fakeClock();
    const key = generateKey(clock.now);
    const devices = createDeviceCookies(createKeyRing([key]), '__Host-gatehouse', clock);
    const issued = devices.issue(parseCookies(undefined), 'alice');
    const value = (/^[^=]+=([^;]+)/.exec(issued) as RegExpExecArray)[1] as string;
    const [kid, nonce, stamp] = value.split('.') as [string, string, string];
    expect(devices.trusted(parseCookies(`${devices.name}=${value}`), 'alice')).toBe(nonce);

    const message = `gatehouse-device\0alice\0${nonce}\0${stamp}`;
    for (const forgingKey of [key.secret, subkey(key, 'csrf')]) {
      const forged = `${kid}.${nonce}.${stamp}.${createHmac('sha256', forgingKey).update(message).digest('base64url')}`;
      expect(devices.trusted(parseCookies(`${devices.name}=${forged}`), 'alice')).toBeUndefined();
    }
    // And the genuine MAC is the device-cookie subkey's.
    expect(value.split('.')[3]).toBe(createHmac('sha256', subkey(key, 'device-cookie')).update(message).digest('base64url'));
  });
});

describe('key file compatibility', () => {
  it('a key file written before this change (pretty JSON, createdAt numbers) still reads', () => {
    const file = join(dir, 'keys.json');
    const key = generateKey(1_700_000_000_000);
    writeFileSync(file, `${JSON.stringify({ keys: [{ kid: key.kid, k: key.secret.toString('base64url'), createdAt: key.createdAt }] }, null, 2)}\n`);
    expect(readKeyFile(file)).toEqual([key]);
  });
});
