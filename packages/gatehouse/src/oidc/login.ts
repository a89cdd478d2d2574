import * as client from 'openid-client';
import type { Clock } from '../clock.js';
import { GatehouseError } from '../errors.js';
import type { KeyRing } from '../keys/keyring.js';
import type { SessionUser } from '../session/model.js';
import { sessionSizeProblem, userFromClaims, verifiedEmail } from './claims.js';
import { providerFailure } from './provider-errors.js';
import type { OidcProvider } from './providers.js';
import { tokenResponseProblem } from './token-response-checks.js';
import { expiresInSeconds, type OidcSessionData, sealTokens } from './tokens.js';
import type { LoginTransaction } from './transaction.js';

/** Why a callback did not sign anyone in: a stable code for the user, a reason for the audit log. */
export class LoginError extends GatehouseError {
  constructor(
    code: 'login_transaction_invalid' | 'login_denied' | 'login_failed' | 'provider_unavailable' | 'session_too_large',
    readonly reason: string,
    cause?: unknown,
  ) {
    super(code, { cause });
    this.name = 'LoginError';
  }
}

/** The authorization request: PKCE (S256), state and nonce, all fresh for every login. */
export async function authorizationRequest(
  provider: OidcProvider,
  returnTo: string,
): Promise<{ url: URL; transaction: Omit<LoginTransaction, 'expiresAt'> }> {
  const configuration = await provider.client();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    ...provider.config.authorizationParams,
    redirect_uri: provider.redirectUri,
    scope: provider.config.scopes.join(' '),
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, transaction: { provider: provider.config.id, state, nonce, codeVerifier, returnTo } };
}

export interface CallbackResult {
  user: SessionUser;
  oidc: OidcSessionData;
}

export interface CallbackOptions {
  keys: KeyRing;
  clock: Clock;
  /** For `linkLocalAccount: "verified-email"`: the local account with this username, if any. */
  findLocalUser?: ((username: string) => Promise<SessionUser | null>) | undefined;
}

/**
 * Completes the code flow. openid-client checks the state, the `iss` response parameter
 * (RFC 9207, mix-up defence), exchanges the code with client authentication and the PKCE
 * verifier, and validates the ID token: signature against the provider's JWKS, alg, iss, aud,
 * exp and the nonce; `tokenResponseProblem` then checks what it leaves out (token_type, typ, azp,
 * a future iat), and `sessionSizeProblem` the sizes. UserInfo, when configured, must name the same `sub`.
 */
export async function completeLogin(
  provider: OidcProvider,
  callbackUrl: URL,
  tx: LoginTransaction,
  options: CallbackOptions,
): Promise<CallbackResult> {
  const configuration = await provider.client();
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  try {
    tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: tx.codeVerifier,
      expectedState: tx.state,
      expectedNonce: tx.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    throw classify(error);
  }
  const claims = tokens.claims();
  if (!claims || typeof claims.sub !== 'string' || !tokens.id_token) throw new LoginError('login_failed', 'no ID token subject');
  // OIDC Core §2: sub is at most 255 ASCII characters. Anything else (control characters, NUL,
  // which PostgreSQL cannot even store) is a broken or hostile provider: refuse, do not store it.
  if (!/^[\x21-\x7e]{1,255}$/.test(claims.sub)) throw new LoginError('login_failed', 'malformed ID token subject');
  // What openid-client leaves unchecked: token_type, the ID token's typ, azp and a future iat.
  const refused = tokenResponseProblem(tokens, claims, provider.config.clientId);
  if (refused) throw new LoginError('login_failed', refused);
  let userinfo: Record<string, unknown> | undefined;
  if (provider.config.userinfo) {
    try {
      userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
    } catch (error) {
      throw classify(error);
    }
  }
  // Bounded before anything is stored: a provider cannot fill the session store.
  const oversized = sessionSizeProblem(tokens, claims, userinfo);
  if (oversized) throw new LoginError('login_failed', oversized);
  let user = userFromClaims(provider.config, claims, userinfo);
  if (provider.config.linkLocalAccount === 'verified-email' && options.findLocalUser) {
    const email = verifiedEmail(claims, userinfo);
    const local = email ? await options.findLocalUser(email) : null;
    if (local) user = local;
  }
  const expiresIn = expiresInSeconds(tokens);
  const expiresAt = expiresIn !== undefined ? options.clock() + expiresIn * 1000 : undefined;
  return {
    user,
    oidc: {
      provider: provider.config.id,
      iss: String(claims.iss),
      sub: claims.sub,
      ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
      ...(expiresAt !== undefined ? { accessTokenExpiresAt: expiresAt } : {}),
      tokens: await sealTokens(options.keys, {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        idToken: tokens.id_token,
        expiresAt,
      }),
    },
  };
}

/** openid-client's failures, as the user-facing code plus a reason for the log. */
export function classify(error: unknown): LoginError {
  if (error instanceof LoginError) return error;
  // Cookie mode: the provider signed the user in, but the claims do not fit the cookie ceiling.
  if (error instanceof GatehouseError && error.code === 'session_too_large') {
    return new LoginError('session_too_large', 'the session does not fit session.cookie.maxBytes', error);
  }
  if (error instanceof GatehouseError && error.code === 'provider_unavailable') {
    return new LoginError('provider_unavailable', 'discovery failed', error);
  }
  // Timeouts, connection failures, 5xx: temporary (provider_unavailable); our fetch layer's refusals.
  const failure = providerFailure(error);
  if (failure) return new LoginError(failure.code, failure.reason, error);
  if (error instanceof client.AuthorizationResponseError) {
    return new LoginError('login_denied', `provider error: ${error.error}`, error);
  }
  if (error instanceof client.ResponseBodyError) {
    return new LoginError('login_failed', `token endpoint error: ${error.error}`, error);
  }
  if (error instanceof client.ClientError) {
    // The cause says which check failed (nonce, aud, signature…): keep it for the audit log.
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return new LoginError('login_failed', `${error.code ?? 'client error'}: ${error.message}${cause ? ` (${cause})` : ''}`, error);
  }
  // fetch failures, timeouts, non-JSON answers: the provider is not answering properly.
  return new LoginError('provider_unavailable', error instanceof Error ? error.message : 'provider request failed', error);
}
