import * as client from 'openid-client';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { Coordination } from '../backends/coordination/types.js';
import { GatehouseError } from '../errors.js';
import type { KeyRing } from '../keys/keyring.js';
import type { SessionManager } from '../session/manager.js';
import type { SessionRecord } from '../session/model.js';
import { sessionSizeProblem } from './claims.js';
import { providerFailure } from './provider-errors.js';
import type { OidcProvider } from './providers.js';
import { tokenResponseProblem } from './token-response-checks.js';
import { expiresInSeconds, oidcData, type OidcTokens, sealTokens, unsealTokens } from './tokens.js';

/** Refresh when the access token expires within this many ms. */
export const REFRESH_SKEW_MS = 60_000;

/** The cross-instance refresh lock frees itself after this long, should its holder die mid-refresh. */
const LOCK_TTL_MS = 30_000;
/** How long an instance waits for another one's refresh before answering 502. */
const LOCK_WAIT_MS = 15_000;
/** How often a waiting instance looks whether the other one has finished. */
const LOCK_POLL_MS = 50;

export interface RefresherOptions {
  providers: ReadonlyMap<string, OidcProvider>;
  sessions: SessionManager;
  keys: KeyRing;
  clock: Clock;
  /** Where the refresh lock lives: shared by instances, so only one of them uses the refresh token. */
  coordination: Coordination;
  onRefresh?: (session: SessionRecord, outcome: 'refreshed' | 'ended' | 'failed') => void;
}

/**
 * Keeps a federated session's access token fresh. Single-flight per session: concurrent requests
 * that find the token about to expire share one refresh (a rotating, one-time refresh token used
 * twice would end the session) — within this process through a shared promise, across instances
 * through a short lock in the coordination state; an instance that finds the lock taken waits
 * for the session to come back fresh from the store. An `invalid_grant`, or a refreshed ID token naming another issuer
 * or subject, ends the session: the caller answers 401.
 */
export class TokenRefresher {
  private readonly inFlight = new Map<string, Promise<SessionRecord | null>>();

  constructor(private readonly options: RefresherOptions) {}

  /** True when the session's access token needs a refresh now (cheap: no decryption). */
  isStale(session: SessionRecord): boolean {
    const oidc = oidcData(session.data);
    return oidc?.accessTokenExpiresAt !== undefined && oidc.accessTokenExpiresAt - REFRESH_SKEW_MS <= this.options.clock();
  }

  /** The session with a fresh access token; null when the provider refused (the session is then gone). */
  ensureFresh(session: SessionRecord): Promise<SessionRecord | null> {
    if (!this.isStale(session)) return Promise.resolve(session);
    let pending = this.inFlight.get(session.id);
    if (!pending) {
      pending = this.refreshOnce(session).finally(() => this.inFlight.delete(session.id));
      this.inFlight.set(session.id, pending);
    }
    return pending;
  }

  /** The decrypted tokens of a federated session (for attaching to upstream calls, logout). */
  async tokens(session: SessionRecord): Promise<OidcTokens | null> {
    const oidc = oidcData((await this.withTokens(session)).data);
    return oidc?.tokens ? unsealTokens(this.options.keys, oidc.tokens) : null;
  }

  /**
   * The session with its sealed tokens. Cookie mode's cookie describes a federated session's
   * tokens but holds them only by reference: they are read from the stored session.
   */
  private async withTokens(session: SessionRecord): Promise<SessionRecord> {
    const oidc = oidcData(session.data);
    if (!oidc || oidc.tokens !== undefined) return session;
    return (await this.options.sessions.findOwn(session.userId, session.id)) ?? session;
  }

  /** One refresh across every instance: take the session's lock, or wait for its holder's result. */
  private async refreshOnce(cookieSession: SessionRecord): Promise<SessionRecord | null> {
    const { coordination, sessions } = this.options;
    const session = await this.withTokens(cookieSession);
    if (oidcData(session.data)?.tokens === undefined) return null;
    const deadline = Date.now() + LOCK_WAIT_MS;
    // "Refreshed" means the tokens we found stale were replaced, not that the new ones are outside
    // the refresh window: a provider issuing tokens shorter than REFRESH_SKEW_MS would otherwise
    // have every waiting instance refresh once more.
    const seen = oidcData(session.data)?.tokens;
    const done = (current: SessionRecord) => oidcData(current.data)?.tokens !== seen || !this.isStale(current);
    for (;;) {
      const lock = await coordination.tryLock(`refresh:${session.id}`, LOCK_TTL_MS);
      if (lock) {
        try {
          // Re-read under the lock: another instance may have refreshed already.
          const current = await sessions.findOwn(session.userId, session.id);
          if (!current) return null;
          return done(current) ? current : await this.refresh(current);
        } finally {
          await lock.release();
        }
      }
      // Another instance holds the lock: has it finished?
      const current = await sessions.findOwn(session.userId, session.id);
      if (!current) return null;
      if (done(current)) return current;
      // Wall-clock waiting: the injected clock decides token expiry, not how long we poll.
      if (Date.now() >= deadline) {
        throw new GatehouseError('provider_unavailable', { message: 'Another instance is still refreshing the session.' });
      }
      await delay(LOCK_POLL_MS);
    }
  }

  private async refresh(session: SessionRecord): Promise<SessionRecord | null> {
    const { providers, sessions, keys, clock } = this.options;
    const oidc = oidcData(session.data);
    const provider = oidc && providers.get(oidc.provider);
    const tokens = await this.tokens(session);
    if (!oidc || !provider || !tokens?.refreshToken) {
      // Nothing to refresh with: the session lives on until its own timeouts; upstream calls
      // needing a user token will be refused by the provider, not by us.
      return session;
    }
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.refreshTokenGrant(await provider.client(), tokens.refreshToken);
    } catch (error) {
      // The provider answered, and the answer ends the session: invalid_grant, or a response that
      // does not validate (a refreshed ID token from another issuer, bad signature, bad claims).
      // Timeouts, network failures and 5xx answers are temporary: the session stays. An answer our
      // fetch layer refused (oversized) is the provider's answer, and ends it.
      const failure = providerFailure(error);
      const refused =
        failure?.code === 'login_failed' ||
        (failure === undefined &&
          ((error instanceof client.ResponseBodyError && error.error === 'invalid_grant') || error instanceof client.ClientError));
      if (refused) {
        await sessions.revoke(session.id);
        this.options.onRefresh?.(session, 'ended');
        return null;
      }
      this.options.onRefresh?.(session, 'failed');
      throw new GatehouseError('provider_unavailable', { message: 'The sign-in provider could not refresh the session.', cause: error });
    }
    const claims = response.claims();
    // OIDC Core §12.2: a refreshed ID token must be about the same user from the same issuer.
    // The same checks as at sign-in (token_type, typ, azp, future iat) and the same size bounds.
    if (
      (claims && (claims.iss !== oidc.iss || claims.sub !== oidc.sub)) ||
      tokenResponseProblem(response, claims, provider.config.clientId) !== undefined ||
      sessionSizeProblem(response, claims) !== undefined
    ) {
      await sessions.revoke(session.id);
      this.options.onRefresh?.(session, 'ended');
      return null;
    }
    const expiresIn = expiresInSeconds(response);
    const expiresAt = expiresIn !== undefined ? clock() + expiresIn * 1000 : undefined;
    const next: SessionRecord = {
      ...session,
      data: {
        ...session.data,
        oidc: {
          ...oidc,
          accessTokenExpiresAt: expiresAt,
          tokens: await sealTokens(keys, {
            accessToken: response.access_token,
            // Providers that do not rotate refresh tokens send none back: keep the old one.
            refreshToken: response.refresh_token ?? tokens.refreshToken,
            idToken: response.id_token ?? tokens.idToken,
            expiresAt,
          }),
        },
      },
    };
    // Signed out (or revoked) while the provider answered: the write-back is conditional (atomic in
    // the store), so it does not bring the session back, and the request gets 401 like any other.
    if (!(await sessions.replace(next))) return null;
    this.options.onRefresh?.(next, 'refreshed');
    return next;
  }
}
