import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import type { KeyRing, SecretKey } from './keyring.js';

/**
 * Authenticated encryption of small JSON values (the login transaction cookie, tokens at rest)
 * as compact JWE (`dir` + A256GCM) with jose. Each purpose gets its own key, derived from the key
 * ring's secret with HKDF, so a value sealed for one purpose never opens as another. The `kid`
 * header names the ring key: values sealed before a rotation still open until that key leaves.
 */
export type SealPurpose = 'login-transaction' | 'oidc-tokens';

const derived = new WeakMap<SecretKey, Map<SealPurpose, Uint8Array>>();

function keyFor(key: SecretKey, purpose: SealPurpose): Uint8Array {
  let byPurpose = derived.get(key);
  if (!byPurpose) {
    byPurpose = new Map();
    derived.set(key, byPurpose);
  }
  let k = byPurpose.get(purpose);
  if (!k) {
    // RFC 5869 HKDF-SHA256; the purpose is the `info`, binding the key to one use.
    k = new Uint8Array(hkdfSync('sha256', key.secret, new Uint8Array(0), `gatehouse:${purpose}`, 32));
    byPurpose.set(purpose, k);
  }
  return k;
}

export async function seal(keys: KeyRing, purpose: SealPurpose, value: unknown): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify(value));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: keys.current.kid, cty: purpose })
    .encrypt(keyFor(keys.current, purpose));
}

/** The sealed value, or null when it is malformed, tampered with, for another purpose, or of an unknown key. */
export async function unseal<T>(keys: KeyRing, purpose: SealPurpose, sealed: string): Promise<T | null> {
  if (sealed.length > 16_384) return null;
  try {
    const header = decodeProtectedHeader(sealed);
    if (header.alg !== 'dir' || header.enc !== 'A256GCM' || header.cty !== purpose || typeof header.kid !== 'string') return null;
    const key = keys.find(header.kid);
    if (!key) return null;
    const { plaintext } = await compactDecrypt(sealed, keyFor(key, purpose), {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return JSON.parse(new TextDecoder().decode(plaintext)) as T;
  } catch {
    return null;
  }
}
