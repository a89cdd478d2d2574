/**
 * The fields of a local account: how usernames, display names and roles are normalized and
 * validated, and the typed error an account operation throws. Shared by every account store, the
 * sign-in path and the login throttle, so "the same username" means the same thing everywhere.
 */

/**
 * Stable codes for account administration failures (CLI, admin API), one registry: docs/errors.md
 * lists them, and test/errors-doc.test.ts keeps that list in step with this one.
 */
export const ACCOUNT_ERROR_CODES = [
  'account_exists',
  'account_not_found',
  'weak_password',
  'invalid_username',
  'invalid_name',
  'invalid_role',
] as const;

/** One of {@link ACCOUNT_ERROR_CODES}. */
export type AccountErrorCode = (typeof ACCOUNT_ERROR_CODES)[number];

/** A refused account operation. Branch on {@link AccountError.code}; the message is safe to show an operator. */
export class AccountError extends Error {
  readonly code: AccountErrorCode;

  constructor(code: AccountErrorCode, message: string) {
    super(message);
    this.name = 'AccountError';
    this.code = code;
  }
}

/** Longest username, in code points after normalization. */
export const MAX_USERNAME_LENGTH = 128;

/**
 * Bound on a username as received, in UTF-8 bytes, checked before any normalization at sign-in.
 * Generous (decomposed input is longer than its NFKC form) yet small enough to be cheap.
 */
export const MAX_USERNAME_BYTES = 1024;

export const MAX_NAME_LENGTH = 256;

/**
 * Control characters, invisible format characters (zero-width space, bidi overrides), line and
 * paragraph separators and lone surrogates. They make two usernames look identical, or a listing
 * rewrite the operator's terminal.
 */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** A role: a short token, compared verbatim with the roles in the configuration. */
const ROLE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

/**
 * The canonical form of a username: trimmed, NFKC (so full-width and composed/decomposed forms
 * collapse, as NIST SP 800-63B suggests for identifiers), lower case. Total: never throws, so it can
 * key the throttle for any input.
 */
export function normalizeUsername(username: string): string {
  return String(username).trim().normalize('NFKC').toLowerCase();
}

/** Why a normalized username is unacceptable, or null. */
export function usernameProblem(normalized: string): string | null {
  const length = [...normalized].length;
  if (length === 0) return 'Username must not be empty.';
  if (length > MAX_USERNAME_LENGTH) return `Username too long (max ${MAX_USERNAME_LENGTH} characters).`;
  if (FORBIDDEN.test(normalized)) return 'Username must not contain control or invisible characters.';
  return null;
}

/** Normalizes and validates a username for a new account. @throws AccountError `invalid_username` */
export function requireUsername(username: string): string {
  const normalized = normalizeUsername(username);
  const problem = usernameProblem(normalized);
  if (problem) throw new AccountError('invalid_username', problem);
  return normalized;
}

/** Trims a display name; undefined or blank means none. @throws AccountError `invalid_name` */
export function requireName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const trimmed = String(name).trim().normalize('NFC');
  if (trimmed === '') return undefined;
  if ([...trimmed].length > MAX_NAME_LENGTH) {
    throw new AccountError('invalid_name', `Name too long (max ${MAX_NAME_LENGTH} characters).`);
  }
  if (FORBIDDEN.test(trimmed)) {
    throw new AccountError('invalid_name', 'Name must not contain control or invisible characters.');
  }
  return trimmed;
}

/** Validates roles, dropping duplicates and keeping order. @throws AccountError `invalid_role` */
export function requireRoles(roles: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const role of roles ?? []) {
    if (typeof role !== 'string' || !ROLE.test(role)) {
      throw new AccountError(
        'invalid_role',
        'A role is 1-64 characters: letters, digits and . _ : / - (starting with a letter or digit).',
      );
    }
    if (!out.includes(role)) out.push(role);
  }
  return out;
}
