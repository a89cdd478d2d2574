import { hkdfSync } from 'node:crypto';
import type { SecretKey } from './keyring.js';

/**
 * Every use of a ring key, by name. Each gets its own key derived from the ring's secret, so a
 * value made for one use (a CSRF MAC, a sealed cookie) is worthless as another, and no code outside
 * `keys/` ever touches the raw secret. One list, so two uses cannot share a name by accident: a new
 * use adds its name here.
 */
export type KeyPurpose =
  | 'login-transaction'
  | 'oidc-tokens'
  | 'session-cookie'
  | 'csrf'
  | 'device-cookie';

const derived = new WeakMap<SecretKey, Map<KeyPurpose, Buffer>>();

/**
 * The 32-byte subkey of `key` for one purpose: HKDF-SHA256 (RFC 5869) of the ring secret, no salt,
 * `info` = `gatehouse:<purpose>`. Derived once per key and purpose (HKDF per request would be wasted
 * work); the cache is keyed by the key object, so a key dropped from every ring is collected with its
 * subkeys. Callers must not modify the returned bytes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5869 — the `info` binds the output to one use (§3.2).
 */
export function subkey(key: SecretKey, purpose: KeyPurpose): Buffer {
  let byPurpose = derived.get(key);
  if (!byPurpose) {
    byPurpose = new Map();
    derived.set(key, byPurpose);
  }
  let k = byPurpose.get(purpose);
  if (!k) {
    k = Buffer.from(hkdfSync('sha256', key.secret, new Uint8Array(0), `gatehouse:${purpose}`, 32));
    byPurpose.set(purpose, k);
  }
  return k;
}
