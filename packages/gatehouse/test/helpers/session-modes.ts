// The session modes the attack tests run in (`session.mode`): "server" (the cookie is a random
// token naming a stored record) and "cookie" (the cookie is the sealed session, a JWE, chunked
// when large). One parametrised suite per file — `describe.each(SESSION_MODES)` — never a copy.
import type { LightMyRequestResponse } from 'fastify';
import { CompactEncrypt, decodeProtectedHeader } from 'jose';
import { expect } from 'vitest';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { generateKey, type KeyRing } from '../../src/keys/keyring.js';
import { seal, unseal } from '../../src/keys/seal.js';
import { subkey } from '../../src/keys/subkey.js';
import { testConfigInput } from './gateway.js';

export const SESSION_MODES = ['server', 'cookie'] as const;
export type SessionMode = (typeof SESSION_MODES)[number];

/** The session cookie's base name (the default) and the prefix of its cookie-mode chunks. */
const NAME = '__Host-gatehouse';
const CHUNK = /^__Host-gatehouse-c[1-9]$/;

/**
 * testGateway overrides with `session.mode` set. The base session section (memory store, 30m idle,
 * 12h absolute) is kept under a partial `session` override, which would otherwise replace it whole.
 */
export function withMode(mode: SessionMode, overrides: Partial<GatehouseConfigInput> = {}): Partial<GatehouseConfigInput> {
  const base = testConfigInput().session;
  return { ...overrides, session: { ...base, ...overrides.session, mode } };
}

/**
 * Asserts the shape of a session cookie's value, as strictly in each mode: server mode a 256-bit
 * random token (43 base64url characters); cookie mode a compact JWE sealed `dir` + A256GCM for the
 * "session-cookie" purpose (empty encrypted-key part, 96-bit IV, 128-bit tag, kid of a ring key).
 */
export function expectSessionValue(mode: SessionMode, value: string): void {
  if (mode === 'server') {
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return;
  }
  expect(value).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
  expect(decodeProtectedHeader(value)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: expect.any(String), cty: 'session-cookie' });
}

/** The session value of a `Cookie` header built by `sessionCookieFrom`/`login` (chunks joined, as the gateway reads them). */
export function sessionValueOf(cookie: string): string {
  const pairs = cookie.split('; ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const);
  const base = pairs.find(([n]) => n === NAME)?.[1] ?? '';
  const chunks = pairs.filter(([n]) => CHUNK.test(n));
  return chunks.length === 0 ? base : chunks.map(([, v]) => v).join('');
}

/**
 * The `Cookie` header a browser sends next: `cookie` with the response's Set-Cookie for the session
 * cookie and its chunks applied (replaced, added, or removed when expired). Cookie mode re-issues
 * the cookie when the session slides or is re-checked; a browser follows, and so must a test. In
 * server mode the session cookie is only ever set at sign-in and cleared, so following changes
 * nothing else.
 */
export function follow(cookie: string, res: LightMyRequestResponse): string {
  const jar = new Map(
    cookie
      .split('; ')
      .filter((p) => p !== '')
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const),
  );
  for (const header of [res.headers['set-cookie'] ?? []].flat()) {
    const pair = header.split(';', 1)[0] as string;
    const name = pair.slice(0, pair.indexOf('='));
    if (name !== NAME && !CHUNK.test(name)) continue;
    if (/;\s*Max-Age=0(;|$)/i.test(header)) jar.delete(name);
    else jar.set(name, pair.slice(name.length + 1));
  }
  return [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * `value` with the character at `at` replaced by one that differs in its top bit, so the decoded
 * bytes change. (Changing only a base64url tail's padding bits does not change them: jose, like
 * most decoders, accepts the non-canonical spelling, and the value still opens.)
 */
function flipAt(value: string, at: number): string {
  const i = B64URL.indexOf(value.charAt(at));
  return `${value.slice(0, at)}${B64URL.charAt((i + 32) % 64)}${value.slice(at + 1)}`;
}

/**
 * Cookie mode: what an attacker makes of a real sealed session `value` without the gateway's key,
 * each named for the attack. None may open. `keys` (the gateway's ring) is used only to read the
 * claims, as if the attacker knew them, and to build values a wrong key or purpose sealed.
 */
export async function sealedForgeries(keys: KeyRing, value: string): Promise<Record<string, string>> {
  const [header, , iv, ciphertext, tag] = value.split('.') as [string, string, string, string, string];
  const claims = await unseal<Record<string, unknown>>(keys, 'session-cookie', value);
  if (!claims) throw new Error('not a sealed session of this ring');
  const kid = keys.current.kid;
  const protectedHeader = { alg: 'dir', enc: 'A256GCM', kid, cty: 'session-cookie' } as const;
  const plaintext = new TextEncoder().encode(JSON.stringify(claims));
  // Another deployment's secret under this deployment's kid.
  const foreign = await new CompactEncrypt(plaintext).setProtectedHeader(protectedHeader).encrypt(subkey({ ...generateKey(), kid }, 'session-cookie'));
  // This ring's key, but the subkey of another purpose (HKDF info), under the session header.
  const otherPurpose = await new CompactEncrypt(plaintext).setProtectedHeader(protectedHeader).encrypt(subkey(keys.current, 'login-transaction'));
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return {
    'a ciphertext bit flipped': [header, '', iv, flipAt(ciphertext, Math.floor(ciphertext.length / 2)), tag].join('.'),
    'a tag bit flipped': [header, '', iv, ciphertext, flipAt(tag, 0)].join('.'),
    'an IV bit flipped': [header, '', flipAt(iv, 0), ciphertext, tag].join('.'),
    'the header changed (kid of another key)': [b64({ ...protectedHeader, kid: `${kid}x` }), '', iv, ciphertext, tag].join('.'),
    'another deployment\'s key under our kid': foreign,
    'our key, another purpose\'s subkey': otherPurpose,
    'our key, sealed as a login transaction': await seal(keys, 'login-transaction', claims),
    'the claims unsecured (alg "none" JWT)': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'the claims as a JWE with alg "none"': [b64({ ...protectedHeader, alg: 'none' }), '', iv, ciphertext, tag].join('.'),
  };
}
