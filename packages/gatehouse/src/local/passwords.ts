import type { Algorithm, Options } from '@node-rs/argon2';
import { hash, verify } from '@node-rs/argon2';
import { GatehouseError } from '../errors.js';

/**
 * Password hashing for local accounts: argon2id with the OWASP minimum parameters.
 *
 * Normalization: every password is normalized to Unicode NFKC before hashing *and* before
 * verifying, as NIST SP 800-63B §5.1.1.2 recommends ("SHOULD apply the Normalization Process for
 * Stabilized Strings using either the NFKC or NFKD normalization"). So a password typed on a
 * keyboard that produces decomposed or full-width characters still matches; the flip side, by
 * design, is that compatibility-equivalent characters (e.g. `Ａ` and `A`, `ﬁ` and `fi`) are equal.
 *
 * No truncation, ever: argon2 hashes the whole input (unlike bcrypt's 72 bytes). Length is bounded
 * instead by {@link MAX_PASSWORD_BYTES}, refused before any hashing work.
 */

/**
 * argon2id parameters: m = 19 MiB, t = 2, p = 1.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
 */
export const PASSWORD_HASH_PARAMS = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/**
 * Upper bound on a password, in UTF-8 bytes of the input as received. Long enough for any
 * passphrase or generated password; short enough that an attacker cannot make the server do
 * unbounded work per request (OWASP Password Storage CS: "set a maximum password length … to
 * prevent denial of service").
 */
export const MAX_PASSWORD_BYTES = 1024;

/**
 * Minimum length, in code points after NFKC, when a password is *set* (not at sign-in, so a
 * policy change never locks anyone out). OWASP Authentication CS / NIST SP 800-63B: shorter
 * than 8 characters is weak.
 */
export const MIN_PASSWORD_LENGTH = 8;

// The package declares `Algorithm` as a `const enum`, which isolated-module transpilers (vitest)
// cannot inline, so the numeric value is spelled out: 2 = Argon2id.
const ARGON2ID = 2 as Algorithm;

const OPTIONS: Options = { algorithm: ARGON2ID, ...PASSWORD_HASH_PARAMS };

/**
 * Throws `payload_too_large` (413) when the password exceeds {@link MAX_PASSWORD_BYTES}.
 * Cheap and synchronous: call it before any other work on untrusted input.
 */
export function assertPasswordSize(password: string): void {
  if (typeof password !== 'string') {
    throw new TypeError('password must be a string');
  }
  // Measure the input as received, before normalization, so the check itself is bounded work.
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new GatehouseError('payload_too_large', { message: `Password too long (max ${MAX_PASSWORD_BYTES} bytes).` });
  }
}

function prepare(password: string): string {
  assertPasswordSize(password);
  return password.normalize('NFKC');
}

/**
 * Hashes a password with argon2id ({@link PASSWORD_HASH_PARAMS}) and a fresh random salt.
 * Returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
 *
 * @throws GatehouseError `payload_too_large` before hashing when the password is too long.
 */
export async function hashPassword(password: string): Promise<string> {
  const prepared = prepare(password);
  return hash(prepared, OPTIONS);
}

/**
 * Checks a password against a PHC hash. Returns false, never throws, for a wrong password or a
 * malformed hash (a corrupt row must not turn into a 500 that tells the caller something).
 *
 * @throws GatehouseError `payload_too_large` before hashing when the password is too long.
 */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  const prepared = prepare(password);
  try {
    return await verify(passwordHash, prepared);
  } catch {
    return false;
  }
}

/**
 * Why a password may not be *set*, or null when it is acceptable. Applied when creating an
 * account or changing a password, never at sign-in.
 *
 * The policy is the NIST SP 800-63B one OWASP endorses: a minimum length and no composition rules;
 * context-specific words (here: the username itself) are refused.
 */
export function newPasswordProblem(password: string, username?: string): string | null {
  if (typeof password !== 'string') return 'Password must be a string.';
  // Lone surrogates cannot be encoded as UTF-8 and would silently become U+FFFD.
  if (/\p{Cs}/u.test(password)) return 'Password contains invalid characters.';
  const normalized = password.normalize('NFKC');
  if ([...normalized].length < MIN_PASSWORD_LENGTH) {
    return `Password too short: use at least ${MIN_PASSWORD_LENGTH} characters.`;
  }
  if (username !== undefined && normalized.toLowerCase() === username.normalize('NFKC').toLowerCase()) {
    return 'Password must not be the username.';
  }
  return null;
}
