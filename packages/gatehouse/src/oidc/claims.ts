import type { ProviderConfig } from '../config/schema.js';
import type { SessionUser } from '../stores/types.js';

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
