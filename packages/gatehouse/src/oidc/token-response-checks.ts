import { decodeProtectedHeader } from 'jose';

/**
 * Seconds of clock difference tolerated between the provider and us: the same as openid-client's
 * default `clockTolerance`, which it applies to `exp` and `nbf`.
 */
export const CLOCK_TOLERANCE_S = 30;

/** `typ` values that mean "a plain JWT" (RFC 7519 §5.1; the `application/` prefix may be left out, RFC 7515 §4.1.9). */
const PLAIN_JWT_TYPES = new Set(['jwt', 'application/jwt']);

export interface TokenResponseLike {
  token_type: string;
  id_token?: string | undefined;
}

/**
 * The checks openid-client 6 does not make on a token endpoint response it has already validated
 * (signature, iss, aud, exp, nonce): run on its verified output, after it, for the code exchange
 * and for a refresh. Returns why the response is refused, or undefined.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
export function tokenResponseProblem(
  response: TokenResponseLike,
  claims: Record<string, unknown> | undefined,
  clientId: string,
  nowMs = Date.now(),
): string | undefined {
  // RFC 6749 §7.1 / RFC 9449 §5: this client never binds tokens with DPoP, so a DPoP-bound (or any
  // other kind of) access token could not be used and means the provider answered another
  // request. openid-client accepts "DPoP" for every client; it lowercases token_type.
  if (response.token_type.toLowerCase() !== 'bearer') return `token_type "${response.token_type}" (only Bearer is used)`;
  if (response.id_token === undefined || claims === undefined) return undefined;

  let typ: unknown;
  try {
    typ = decodeProtectedHeader(response.id_token).typ;
  } catch {
    return 'ID token header cannot be read';
  }
  // RFC 8725 §3.11: explicitly typed JWTs of another kind (logout+jwt, at+jwt, secevent+jwt, …)
  // must not be accepted as ID tokens (cross-JWT confusion). OIDC defines no typ for ID tokens;
  // absent or plain "JWT" is what providers send.
  if (typ !== undefined && (typeof typ !== 'string' || !PLAIN_JWT_TYPES.has(typ.toLowerCase()))) {
    return `ID token typ "${String(typ)}" is not an ID token`;
  }

  // OIDC Core §2 / §3.1.3.7 step 5: when azp is present it MUST be our client_id. openid-client
  // checks it only when aud has several values; a token for another party naming only us in aud
  // is still not ours to use.
  if (claims.azp !== undefined && claims.azp !== clientId) return `ID token azp "${String(claims.azp)}" is not this client`;

  // OIDC Core §3.1.3.7 step 10 (iat): an ID token issued in the future is forged, replayed from a
  // provider with a broken clock, or pre-minted. openid-client checks only its type.
  const nowS = Math.floor(nowMs / 1000);
  if (typeof claims.iat === 'number' && claims.iat > nowS + CLOCK_TOLERANCE_S) {
    return `ID token iat is ${claims.iat - nowS} s in the future (tolerance ${CLOCK_TOLERANCE_S} s)`;
  }
  return undefined;
}
