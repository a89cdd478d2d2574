import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Coordination } from '../backends/coordination/types.js';
import { GatehouseError } from '../errors.js';
import type { SessionRecord } from '../session/model.js';
import type { OidcProvider } from './providers.js';
import type { OidcTokens } from './tokens.js';
import { oidcData } from './tokens.js';

/**
 * {@link providerLogout} for whichever provider signed a session in, with its tokens read from
 * the session; undefined without providers. A session of an unknown provider (or a local one)
 * gets no provider step.
 */
export function sessionProviderLogout(
  providers: ReadonlyMap<string, OidcProvider>,
  tokensOf: (session: SessionRecord) => Promise<OidcTokens | null>,
  log: (error: unknown) => void,
): ((session: SessionRecord) => Promise<string | undefined>) | undefined {
  if (providers.size === 0) return undefined;
  return async (session) => {
    const provider = providers.get(session.provider);
    if (!provider) return undefined;
    return providerLogout(provider, await tokensOf(session), log);
  };
}

/**
 * RP-initiated logout (OIDC RP-Initiated Logout 1.0): revoke the refresh token where the provider
 * supports revocation (RFC 7009), and return the end-session URL with `id_token_hint`, the
 * registered `post_logout_redirect_uri` and a `state`. The local session is already gone when
 * this runs; provider failures are logged, never turned into a failed logout.
 */
export async function providerLogout(
  provider: OidcProvider,
  tokens: OidcTokens | null,
  log: (error: unknown) => void,
): Promise<string | undefined> {
  let configuration: client.Configuration;
  try {
    configuration = await provider.client();
  } catch (error) {
    log(error);
    return undefined;
  }
  const metadata = configuration.serverMetadata();
  if (tokens?.refreshToken && metadata.revocation_endpoint) {
    try {
      await client.tokenRevocation(configuration, tokens.refreshToken, { token_type_hint: 'refresh_token' });
    } catch (error) {
      log(error);
    }
  }
  if (!metadata.end_session_endpoint) return undefined;
  return client
    .buildEndSessionUrl(configuration, {
      post_logout_redirect_uri: provider.postLogoutRedirectUri,
      state: client.randomState(),
      // The one place a token crosses the browser (in the redirect URL, to the provider that
      // issued it). openid-client always adds client_id, which RP-Initiated Logout 1.0 §2 accepts alone.
      ...(tokens?.idToken && provider.config.logoutIdTokenHint ? { id_token_hint: tokens.idToken } : {}),
    })
    .toString();
}

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Logout token verification for one provider (OIDC Back-Channel Logout 1.0 §2.6). */
export class LogoutTokenVerifier {
  /** jose's key selection over the provider's current key set, one per set (it imports keys once). */
  private readonly localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();
  constructor(
    private readonly provider: OidcProvider,
    /** Where `jti` marks live: shared by instances, so a token replayed to another one is refused too. */
    private readonly coordination: Coordination,
  ) {}

  /** The verified claims; throws `invalid_logout_token` for anything the spec says to reject. */
  async verify(token: string): Promise<JWTPayload & { sub?: string; sid?: string; jti: string }> {
    const configuration = await this.provider.client();
    const metadata = configuration.serverMetadata();
    if (!metadata.jwks_uri) throw invalid('provider publishes no jwks_uri');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw invalid('not a JWS');
    }
    // §2.6: typ, where sent, is logout+jwt; alg none is never accepted.
    if (header.typ !== undefined && !/^(application\/)?logout\+jwt$/i.test(header.typ)) throw invalid(`typ ${header.typ}`);
    const algorithms = (metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((a) => a !== 'none');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (protectedHeader, jws) => this.key(protectedHeader, jws), {
        issuer: metadata.issuer,
        audience: this.provider.config.clientId,
        algorithms,
        // §2.4: iat, exp, jti and events are all required.
        requiredClaims: ['iat', 'exp', 'jti', 'events'],
        // Wall-clock time, like openid-client for ID tokens: these tokens come from another machine.
        maxTokenAge: '10m',
        clockTolerance: 30,
      }));
    } catch (error) {
      throw invalid((error as Error).message);
    }
    const events = payload.events;
    const event = isObject(events) ? events[BACKCHANNEL_EVENT] : undefined;
    if (!isObject(event)) throw invalid('no back-channel logout event');
    if ('nonce' in payload) throw invalid('nonce present');
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    if (!sub && !sid) throw invalid('neither sub nor sid');
    const jti = String(payload.jti);
    if ((await this.coordination.get(this.jtiKey(jti))) !== null) throw invalid('jti replayed');
    return { ...payload, sub, sid, jti };
  }

  /**
   * Marks a token's `jti` as used: call once its sessions are ended. Marking only then means a
   * store failure half-way leaves the token usable for the provider's retry (OIDC Back-Channel
   * Logout §2.8: the RP answers an error and the OP may retry), instead of refusing the retry as
   * a replay with the sessions still live. Two deliveries at once both end the same sessions: no harm.
   */
  async markUsed(jti: string): Promise<void> {
    // Kept longer than maxTokenAge + clockTolerance: a replay after that fails the iat check anyway.
    await this.coordination.put(this.jtiKey(jti), '1', 15 * 60_000);
  }

  /**
   * The provider's JWKS through the shared, bounded cache (an unknown kid refetches once,
   * single-flight and rate-limited: anyone can post a logout token naming a made-up kid); jose
   * selects the key and checks the signature.
   */
  private async key(...args: Parameters<JWTVerifyGetKey>): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    const set = await this.provider.signingKeys(args[0].kid);
    let local = this.localSets.get(set);
    if (!local) {
      local = createLocalJWKSet(set);
      this.localSets.set(set, local);
    }
    return local(...args);
  }

  private jtiKey(jti: string): string {
    return `bcl-jti:${this.provider.config.id}:${jti}`;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(reason: string): GatehouseError {
  return new GatehouseError('invalid_logout_token', { message: `Invalid logout token: ${reason}.` });
}

/** The sessions a verified logout token names: by sid when present, else every session of sub. */
export function matchesLogout(session: SessionRecord, claims: { sub?: string | undefined; sid?: string | undefined }): boolean {
  const oidc = oidcData(session.data);
  if (!oidc) return false;
  if (claims.sid !== undefined) return oidc.sid === claims.sid && (claims.sub === undefined || oidc.sub === claims.sub);
  return oidc.sub === claims.sub;
}
