import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import type { KeyRing, SecretKey } from './keyring.js';
import { subkey } from './subkey.js';

/**
 * Authenticated encryption of small JSON values (the login transaction cookie, the session cookie
 * in cookie mode, tokens at rest) as compact JWE (`dir` + A256GCM) with jose. Each purpose gets its
 * own key, derived from the key ring's secret with HKDF (subkey.ts), so a value sealed for one
 * purpose never opens as another. The `kid` header names the ring key: values sealed before a
 * rotation still open until that key is retired (its grace period over, keyring.ts), then they open
 * as null. Each purpose is also a `KeyPurpose` of subkey.ts.
 */
export type SealPurpose = 'login-transaction' | 'oidc-tokens' | 'session-cookie';

/** The JWE key of one purpose: the ring key's HKDF subkey (subkey.ts), as every use of a ring key. */
function keyFor(key: SecretKey, purpose: SealPurpose): Uint8Array {
  return subkey(key, purpose);
}

/** The protected header parameters of a sealed value: those {@link seal} writes, no others. */
const SEALED_HEADER = new Set(['alg', 'enc', 'kid', 'cty']);

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
    // Exactly the header seal() writes: no `zip` (jose would inflate it), `crit` or anything else.
    if (Object.keys(header).some((name) => !SEALED_HEADER.has(name))) return null;
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
