import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes: 256 bits, well above OWASP's 128-bit floor for session ids. */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session token: the cookie value. Only the browser ever holds it. */
export function generateSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** True when the value has the exact shape of a token we issue. Anything else is never looked up. */
export function isWellFormedToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/**
 * The store key for a token: SHA-256, base64url. The store keeps only this, so a copy of the
 * store cannot be turned back into cookies (the token has 256 bits of entropy, so a fast hash suffices).
 */
export function sessionIdFromToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
