import { join } from 'node:path';
import type { CustomFetch } from 'openid-client';
import type { Clock } from '../clock.js';
import type { ApiConfig, GatehouseConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { SessionRecord } from '../session/model.js';
import { ServiceTokens } from '../tokens/client-credentials.js';
import { InternalTokenIssuer } from '../tokens/internal.js';
import { SigningKeyRing } from '../tokens/signing-keys.js';

/**
 * The user's provider tokens, fresh: what a route with `token: "user"` forwards. The OIDC refresher
 * (oidc/refresh.ts) is the one implementation; the proxy names only what it calls, so it does not
 * depend on the OIDC feature.
 */
export interface UserTokenSource {
  /** The session with its tokens refreshed when near expiry; null when the provider ended it. */
  ensureFresh(session: SessionRecord): Promise<SessionRecord | null>;
  /** The session's provider tokens; null for a session that has none (a local sign-in). */
  tokens(session: SessionRecord): Promise<{ accessToken: string } | null>;
}

/** Where each kind of upstream credential comes from. */
export interface CredentialSources {
  refresher: UserTokenSource;
  internal: InternalTokenIssuer;
  service?: ServiceTokens | undefined;
}

/**
 * The signing keys of internal tokens (issue 4), from `dataDir/signing-keys.json`: only when some
 * route sends them (`token: "internal"`), null otherwise.
 */
export async function openInternalSigningKeys(config: GatehouseConfig): Promise<SigningKeyRing | null> {
  if (!config.apis.some((api) => api.token === 'internal')) return null;
  return SigningKeyRing.open(join(config.dataDir, 'signing-keys.json'), config.internalTokens.algorithm);
}

/**
 * The sources the config asks for: internal tokens signed with `signingKeys` (an in-memory ring
 * when no route sends them, so nothing is written to disk), and the service client when one is
 * configured.
 */
export async function createCredentialSources(
  config: GatehouseConfig,
  parts: { refresher: UserTokenSource; signingKeys: SigningKeyRing | null; clock: Clock; fetch?: CustomFetch | undefined },
): Promise<CredentialSources> {
  const { clock, fetch } = parts;
  return {
    refresher: parts.refresher,
    internal: new InternalTokenIssuer({
      keys: parts.signingKeys ?? (await SigningKeyRing.inMemory()),
      issuer: config.publicOrigin,
      lifetimeMs: config.internalTokens.lifetime,
      clock,
    }),
    service: config.serviceClient ? new ServiceTokens({ config: config.serviceClient, clock, ...(fetch ? { fetch } : {}) }) : undefined,
  };
}

/** The session the credentials were made for (a refresh may have replaced it) and the header. */
export interface Credentials {
  session: SessionRecord | null;
  authorization?: string | undefined;
}

/**
 * The `Authorization` header for a route (RFC 6750 §2.1 Bearer), given the caller's session.
 * Without a session (auth "optional"), user and internal routes send none.
 *  - `user`: the OIDC access token, refreshed first when about to expire (single-flight in
 *    TokenRefresher); a refused refresh ends the session → 401; a local session → 403.
 *  - `internal`: a JWT Gatehouse signs (RFC 9068), cached per session and audience.
 *  - `client-credentials`: Gatehouse's own token, sent with or without a session.
 */
export async function routeCredentials(route: ApiConfig, session: SessionRecord | null, sources: CredentialSources): Promise<Credentials> {
  switch (route.token) {
    case 'none':
      return { session };
    case 'client-credentials': {
      if (!sources.service) throw new GatehouseError('upstream_token_unavailable');
      return { session, authorization: `Bearer ${await sources.service.token(route.audience)}` };
    }
    case 'internal': {
      if (!session) return { session };
      return { session, authorization: `Bearer ${await sources.internal.token(session, route.audience as string)}` };
    }
    case 'user': {
      if (!session) return { session };
      const fresh = await sources.refresher.ensureFresh(session);
      if (!fresh) throw new GatehouseError('unauthenticated');
      const tokens = await sources.refresher.tokens(fresh);
      if (!tokens?.accessToken) throw new GatehouseError('federated_session_required');
      return { session: fresh, authorization: `Bearer ${tokens.accessToken}` };
    }
  }
}
