import type { KeyRing } from '../keys/keyring.js';
import { seal, unseal } from '../keys/seal.js';

/** The provider's tokens of one session. Server-side only: sealed at rest, never sent to the browser or logged. */
export interface OidcTokens {
  accessToken: string;
  refreshToken?: string | undefined;
  idToken: string;
  /** Epoch ms when the access token expires, when the provider said. */
  expiresAt?: number | undefined;
}

/** What a federated session keeps in `SessionRecord.data.oidc`. */
export interface OidcSessionData {
  provider: string;
  iss: string;
  sub: string;
  sid?: string | undefined;
  /** Plain, so the hot path can decide about a refresh without decrypting anything. */
  accessTokenExpiresAt?: number | undefined;
  /** {@link OidcTokens} sealed with the key ring (JWE, A256GCM). */
  tokens: string;
}

export function sealTokens(keys: KeyRing, tokens: OidcTokens): Promise<string> {
  return seal(keys, 'oidc-tokens', tokens);
}

export function unsealTokens(keys: KeyRing, sealed: string): Promise<OidcTokens | null> {
  return unseal<OidcTokens>(keys, 'oidc-tokens', sealed);
}

/** The OIDC part of a session's data, if it is a federated session. */
export function oidcData(data: Record<string, unknown> | undefined): OidcSessionData | undefined {
  const value = data?.oidc;
  return value && typeof value === 'object' ? (value as OidcSessionData) : undefined;
}

/**
 * The token response's `expires_in` as the provider sent it, in seconds. Not openid-client's
 * `expiresIn()`: that counts down from when the response arrived by the wall clock, so it reads
 * 3599 for "3600" once a millisecond has passed, and the gateway dates expiry by its own clock.
 */
export function expiresInSeconds(response: { expires_in?: number | undefined }): number | undefined {
  const value = response.expires_in;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
