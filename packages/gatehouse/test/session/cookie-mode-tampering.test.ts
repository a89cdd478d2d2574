/**
 * Cookie mode, attacks on the sealed session cookie itself: every altered, truncated, re-headered,
 * foreign, repurposed or unsealed value is no session. Each answer is the exact refusal (401
 * `unauthenticated`, nothing else in the body, the session cookie expired in the same answer) and
 * the genuine cookie still works afterwards, so the refusals come from the value, not the setup.
 */
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { seal } from '../../src/keys/seal.js';
import { subkey } from '../../src/keys/subkey.js';
import type { CookiePayload } from '../../src/session/cookie-payload.js';
import { login, testClock, type TestGateway } from '../helpers/gateway.js';
import { cookieGateway, expectRefused, get, payloadOf, ringOf, sealedOf, single } from './cookie-mode-fixture.js';

let gw: TestGateway;
/** alice's genuine cookie (one JWE, sealed under the current key). */
let cookie: string;
let payload: CookiePayload;
const enc = new TextEncoder();
const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  // Two live keys, so a kid swapped to the other one names a real key.
  const clock = testClock();
  const older = generateKey(clock() - 1000);
  gw = await cookieGateway({ clock, deps: { keys: ringOf(clock, [generateKey(clock()), older], 60 * 60_000) } });
  cookie = await login(gw);
  payload = (await payloadOf(gw, cookie)) as CookiePayload;
  expect(payload.user.username).toBe('alice');
});
afterAll(() => gw.close());

async function expectGenuineStillWorks(): Promise<void> {
  const res = await get(gw, cookie);
  expect(res.statusCode).toBe(200);
  expect(res.json().user.username).toBe('alice');
}

/** The JWE with byte `at` of compact segment `segment` XORed with 0x01 (decoded, flipped, re-encoded). */
function flip(jwe: string, segment: number, at: number): string {
  const parts = jwe.split('.');
  const bytes = Buffer.from(parts[segment] as string, 'base64url');
  bytes[at] = (bytes[at] as number) ^ 0x01;
  parts[segment] = bytes.toString('base64url');
  return parts.join('.');
}

/** The JWE with its protected header decoded, changed and re-encoded; iv, ciphertext and tag untouched. */
function reheader(jwe: string, change: (header: Record<string, unknown>) => Record<string, unknown>): string {
  const parts = jwe.split('.');
  const header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
  parts[0] = b64u(change(header));
  return parts.join('.');
}

describe('a flipped byte anywhere in the JWE', () => {
  const segments: [string, number][] = [
    ['protected header', 0],
    ['iv', 2],
    ['ciphertext', 3],
    ['authentication tag', 4],
  ];
  for (const [name, segment] of segments) {
    it(`${name}: every byte position, one at a time → 401, cookie cleared`, async () => {
      const jwe = sealedOf(cookie);
      const length = Buffer.from(jwe.split('.')[segment] as string, 'base64url').length;
      expect(length).toBeGreaterThan(0);
      for (let at = 0; at < length; at++) {
        const res = await get(gw, single(flip(jwe, segment, at)));
        expectRefused(res);
      }
      await expectGenuineStillWorks();
    });
  }

  it('an encrypted key added to the empty segment of a dir JWE → 401', async () => {
    const parts = sealedOf(cookie).split('.');
    parts[1] = randomBytes(32).toString('base64url');
    expectRefused(await get(gw, single(parts.join('.'))));
  });
});

describe('truncated values', () => {
  it('cut at every length from the whole value down to one character → 401', async () => {
    const jwe = sealedOf(cookie);
    // Every cut: the tag, the ciphertext, the separators, the header: none opens.
    for (let keep = jwe.length - 1; keep > 0; keep -= 7) expectRefused(await get(gw, single(jwe.slice(0, keep))));
    for (const keep of [jwe.lastIndexOf('.'), jwe.lastIndexOf('.') + 1, jwe.indexOf('.'), 1]) {
      expectRefused(await get(gw, single(jwe.slice(0, keep))));
    }
    await expectGenuineStillWorks();
  });
});

describe('the protected header changed and re-encoded (ciphertext untouched)', () => {
  const changes: [string, (h: Record<string, unknown>) => Record<string, unknown>][] = [
    ['alg → A256KW', (h) => ({ ...h, alg: 'A256KW' })],
    ['alg → none', (h) => ({ ...h, alg: 'none' })],
    ['enc → A128GCM', (h) => ({ ...h, enc: 'A128GCM' })],
    ['enc → A256CBC-HS512', (h) => ({ ...h, enc: 'A256CBC-HS512' })],
    ['kid → the other live key of the ring', (h) => ({ ...h, kid: gw.gatehouse.keys.keys[1]?.kid })],
    ['kid → unknown', (h) => ({ ...h, kid: 'unknown1' })],
    ['kid removed', ({ kid: _kid, ...h }) => h],
    ['cty → oidc-tokens', (h) => ({ ...h, cty: 'oidc-tokens' })],
    ['cty → login-transaction', (h) => ({ ...h, cty: 'login-transaction' })],
    ['cty removed', ({ cty: _cty, ...h }) => h],
    ['zip: DEF added', (h) => ({ ...h, zip: 'DEF' })],
    ['crit added', (h) => ({ ...h, crit: ['exp'], exp: 0 })],
    // Same members, another serialization: the encoded header is the authenticated data.
    ['same members in another order', (h) => Object.fromEntries(Object.entries(h).reverse())],
  ];
  for (const [name, change] of changes) {
    it(`${name} → 401, cookie cleared`, async () => {
      const tampered = reheader(sealedOf(cookie), change);
      expect(tampered).not.toBe(sealedOf(cookie));
      expectRefused(await get(gw, single(tampered)));
    });
  }
});

describe('well-formed JWEs the gateway did not seal for its session cookie', () => {
  it('control: the genuine payload sealed again under the ring, purpose session-cookie → 200 (the cases below differ from it in one thing)', async () => {
    const res = await get(gw, single(await seal(gw.gatehouse.keys, 'session-cookie', payload)));
    expect(res.statusCode).toBe(200);
    expect(res.json().user.username).toBe('alice');
  });

  it('sealed under a key the ring does not have (unknown kid) → 401', async () => {
    const foreign = createKeyRing([{ ...generateKey(), kid: 'deadbeef' }]);
    expectRefused(await get(gw, single(await seal(foreign, 'session-cookie', payload))));
  });

  it("sealed under another deployment's key ring that uses the same kid → 401", async () => {
    const current = gw.gatehouse.keys.current;
    const other = createKeyRing([{ kid: current.kid, secret: randomBytes(32), createdAt: current.createdAt }]);
    expectRefused(await get(gw, single(await seal(other, 'session-cookie', payload))));
  });

  for (const purpose of ['oidc-tokens', 'login-transaction'] as const) {
    it(`sealed under the right ring for purpose ${purpose} → 401`, async () => {
      expectRefused(await get(gw, single(await seal(gw.gatehouse.keys, purpose, payload))));
    });

    it(`encrypted with the ${purpose} subkey under a session-cookie header → 401`, async () => {
      const key = gw.gatehouse.keys.current;
      const jwe = await new CompactEncrypt(enc.encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid, cty: 'session-cookie' })
        .encrypt(subkey(key, purpose));
      expectRefused(await get(gw, single(jwe)));
    });
  }

  it('encrypted with the raw ring secret instead of its HKDF subkey → 401', async () => {
    const key = gw.gatehouse.keys.current;
    const jwe = await new CompactEncrypt(enc.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid, cty: 'session-cookie' })
      .encrypt(key.secret);
    expectRefused(await get(gw, single(jwe)));
  });

  it('a correct A256KW JWE (the session-cookie subkey wrapping a content key) → 401: only dir is accepted', async () => {
    const key = gw.gatehouse.keys.current;
    const jwe = await new CompactEncrypt(enc.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: key.kid, cty: 'session-cookie' })
      .encrypt(subkey(key, 'session-cookie'));
    expectRefused(await get(gw, single(jwe)));
  });
});

describe('signed or unsecured tokens carrying a valid-looking payload', () => {
  it('an unsecured JWT (alg none) → 401', async () => {
    const kid = gw.gatehouse.keys.current.kid;
    expectRefused(await get(gw, single(`${b64u({ alg: 'none', kid, cty: 'session-cookie' })}.${b64u(payload)}.`)));
  });

  it('a JWS (HS256) signed with the session-cookie subkey itself → 401: a signature is not a seal', async () => {
    const key = gw.gatehouse.keys.current;
    const jws = await new CompactSign(enc.encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, cty: 'session-cookie' })
      .sign(subkey(key, 'session-cookie'));
    expectRefused(await get(gw, single(jws)));
  });

  it('the payload as plain base64url JSON, and as raw JSON → 401', async () => {
    expectRefused(await get(gw, single(b64u(payload))));
    expectRefused(await get(gw, single(encodeURIComponent(JSON.stringify(payload)))));
    await expectGenuineStillWorks();
  });
});

describe('sealed by the gateway, but not a session payload it accepts', () => {
  // What a bug or an older format could produce: the shape check refuses it, never trusts it.
  const variants: [string, (p: CookiePayload) => unknown][] = [
    ['another format version', (p) => ({ ...p, v: 2 })],
    ['roles that are not strings', (p) => ({ ...p, user: { ...p.user, roles: [{ admin: true }] } })],
    ['no session id', ({ id: _id, ...p }) => p],
    ['an absolute expiry in the past', (p) => ({ ...p, e: p.c - 1 })],
    ['an idle expiry in the past', (p) => ({ ...p, i: p.c - 1 })],
    ["another revocation list's epoch", (p) => ({ ...p, ep: 'some-other-epoch' })],
    ['no epoch', ({ ep: _ep, ...p }) => p],
    ['a JSON array', (p) => [p]],
  ];
  for (const [name, change] of variants) {
    it(`${name} → 401`, async () => {
      expectRefused(await get(gw, single(await seal(gw.gatehouse.keys, 'session-cookie', change(payload)))));
    });
  }
});
