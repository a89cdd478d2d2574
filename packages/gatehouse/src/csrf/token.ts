import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing, SecretKey } from '../keys/keyring.js';
import { subkey } from '../keys/subkey.js';

/**
 * The anti-forgery token for plain HTML forms: HMAC-SHA256 over the session id, bound to that
 * session (OWASP CSRF cheat sheet, "signed double-submit / synchronizer token"). A token from
 * another session, or under a key that is unknown or retired, does not verify. The MAC key is the
 * ring key's 'csrf' subkey (keys/subkey.ts), never its raw secret.
 * Format: `<kid>.<base64url mac>`.
 */
export function antiForgeryToken(keys: KeyRing, sessionId: string): string {
  return `${keys.current.kid}.${mac(keys.current, sessionId)}`;
}

export function verifyAntiForgeryToken(keys: KeyRing, sessionId: string, token: string): boolean {
  if (token.length > 200) return false;
  const dot = token.indexOf('.');
  if (dot <= 0) return false;
  const key = keys.find(token.slice(0, dot));
  if (!key) return false;
  const expected = Buffer.from(mac(key, sessionId));
  const given = Buffer.from(token.slice(dot + 1));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function mac(key: SecretKey, sessionId: string): string {
  return createHmac('sha256', subkey(key, 'csrf')).update(`gatehouse-csrf\0${sessionId}`).digest('base64url');
}
