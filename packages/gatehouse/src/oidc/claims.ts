import type { ProviderConfig } from '../config/schema.js';
import type { SessionUser } from '../session/model.js';

type Claims = Record<string, unknown>;

/**
 * The session user of a federated sign-in. Identity is (provider, sub): `id` is
 * `<provider>:<sub>`, so two providers can never collide on a `sub`. Other fields come from the
 * configured claim names (UserInfo claims, when fetched, win over ID token claims); anything
 * missing or of the wrong type is left out rather than guessed.
 */
export function userFromClaims(provider: ProviderConfig, idToken: Claims, userinfo?: Claims): SessionUser {
  const claims: Claims = { ...idToken, ...(userinfo ?? {}), sub: idToken.sub };
  const text = (name: string) => {
    const value = claims[name];
    // Display values only: control characters (NUL, newlines, bidi tricks aside) are left out
    // rather than shown or stored — PostgreSQL cannot store NUL, logs should not get newlines.
    return typeof value === 'string' && value.length > 0 && value.length <= 256 && !CONTROL.test(value) ? value : undefined;
  };
  const user: SessionUser = { id: `${provider.id}:${String(idToken.sub)}`, roles: rolesFrom(provider.claims.roles ? claims[provider.claims.roles] : undefined) };
  const username = text(provider.claims.username);
  const name = text(provider.claims.name);
  const email = text(provider.claims.email);
  if (username) user.username = username;
  if (name) user.name = name;
  if (email) user.email = email;
  return user;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function rolesFrom(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
  return [
    ...new Set(list.filter((r): r is string => typeof r === 'string' && r.length > 0 && r.length <= 64 && !CONTROL.test(r))),
  ].slice(0, 64);
}

/** The verified email, for `linkLocalAccount: "verified-email"`; undefined unless `email_verified` is true. */
export function verifiedEmail(idToken: Claims, userinfo?: Claims): string | undefined {
  const claims = { ...idToken, ...(userinfo ?? {}) };
  return claims.email_verified === true && typeof claims.email === 'string' ? claims.email : undefined;
}

/**
 * What one federated session may keep. A provider (or whoever controls one) could otherwise fill
 * the session store — and every request's session read — with megabytes per sign-in. Sizes are
 * UTF-8 bytes. Tokens larger than 16 KiB would not fit the request headers most servers accept
 * (the access token is forwarded upstream as `Authorization: Bearer`) anyway.
 */
export const SESSION_LIMITS = {
  /** Distinct claim names across the ID token and UserInfo. */
  claims: 100,
  /** The ID token's claims and UserInfo, serialized as JSON. */
  claimsBytes: 32 * 1024,
  /** Each of the access, refresh and ID token. */
  tokenBytes: 16 * 1024,
} as const;

/** Why these tokens and claims are too large to keep in a session, or undefined. */
export function sessionSizeProblem(
  tokens: { access_token: string; refresh_token?: string | undefined; id_token?: string | undefined },
  idToken: Claims | undefined,
  userinfo?: Claims,
): string | undefined {
  for (const [name, value] of [
    ['access token', tokens.access_token],
    ['refresh token', tokens.refresh_token],
    ['ID token', tokens.id_token],
  ] as const) {
    if (value !== undefined && Buffer.byteLength(value) > SESSION_LIMITS.tokenBytes) {
      return `${name} exceeds ${SESSION_LIMITS.tokenBytes} bytes`;
    }
  }
  const names = new Set([...Object.keys(idToken ?? {}), ...Object.keys(userinfo ?? {})]);
  if (names.size > SESSION_LIMITS.claims) return `${names.size} claims (at most ${SESSION_LIMITS.claims})`;
  const size = Buffer.byteLength(JSON.stringify(idToken ?? {})) + Buffer.byteLength(JSON.stringify(userinfo ?? {}));
  if (size > SESSION_LIMITS.claimsBytes) return `claims of ${size} bytes (at most ${SESSION_LIMITS.claimsBytes})`;
  return undefined;
}
