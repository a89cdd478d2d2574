import { readFileSync } from 'node:fs';
import { decodeProtectedHeader, importPKCS8, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { type Clock, systemClock } from '../clock.js';
import type { GatehouseConfig, ProviderConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import { JwksCache } from './jwks-cache.js';
import { boundedFetch, PROVIDER_BODY_LIMITS } from '../http/bounded-fetch.js';

/** One configured provider, discovered on first use and cached. */
export interface OidcProvider {
  config: ProviderConfig;
  /** The redirect URI registered at the provider: `<publicOrigin><prefix>/callback/<id>`. */
  redirectUri: string;
  /** Where the provider sends the browser after RP-initiated logout. */
  postLogoutRedirectUri: string;
  /**
   * An openid-client configuration for ONE operation (a login, a refresh, a logout): the
   * discovered metadata, client authentication, bounded requests, and the provider's JWKS from
   * {@link signingKeys}. A fresh one each call, so the key set an ID token is checked against is
   * the one {@link JwksCache} decided on (see `operationFetch`).
   */
  client(): Promise<client.Configuration>;
  /** The provider's key set for a token whose header names `kid` (refetched on an unknown kid, rate-limited). */
  signingKeys(kid: string | undefined): Promise<JSONWebKeySet>;
}

export interface ProviderOptions {
  /** Injected fetch (tests); default: the global fetch. Every request still goes through {@link boundedFetch}. */
  fetch?: client.CustomFetch | undefined;
  /** The gateway clock: decides the JWKS cache's age and refetch cooldown. */
  clock?: Clock;
}

interface Discovered {
  metadata: client.ServerMetadata;
  auth: client.ClientAuth;
  jwks: JwksCache;
}

/**
 * The registry of OpenID providers. Discovery runs once per provider and is retried on the next
 * use after a failure (a provider that was down must not need a gateway restart). openid-client
 * validates the discovered issuer against the configured one. Every request to the provider is
 * bounded in time (`providers[].timeout`, body included) and size ({@link PROVIDER_BODY_LIMITS}).
 */
export function createProviders(config: GatehouseConfig, options: ProviderOptions = {}): Map<string, OidcProvider> {
  const providers = new Map<string, OidcProvider>();
  const clock = options.clock ?? systemClock;
  for (const p of config.providers) {
    const timeoutMs = p.timeout;
    const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000));
    let pending: Promise<Discovered> | undefined;
    const discoveryFetch = boundedFetch({ fetch: options.fetch, timeoutMs, limitFor: () => PROVIDER_BODY_LIMITS.default });
    const discover = async (): Promise<Discovered> => {
      try {
        const auth = await clientAuth(p);
        const configuration = await client.discovery(new URL(p.issuer), p.clientId, undefined, auth, {
          execute: p.allowHttpIssuer ? [client.allowInsecureRequests] : [],
          timeout: timeoutS,
          [client.customFetch]: discoveryFetch,
        });
        const metadata = configuration.serverMetadata();
        const jwksFetch = boundedFetch({ fetch: options.fetch, timeoutMs, limitFor: () => PROVIDER_BODY_LIMITS.default });
        return { metadata, auth, jwks: new JwksCache(() => downloadJwks(metadata, jwksFetch), clock) };
      } catch (error) {
        throw new GatehouseError('provider_unavailable', { message: discoveryProblem(p, error), cause: error });
      }
    };
    const discovered = (): Promise<Discovered> => {
      pending ??= discover().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return pending;
    };
    providers.set(p.id, {
      config: p,
      redirectUri: `${config.publicOrigin}${config.auth.prefix}/callback/${p.id}`,
      postLogoutRedirectUri: `${config.publicOrigin}${p.postLogoutRedirectPath}`,
      async client() {
        const { metadata, auth, jwks } = await discovered();
        const configuration = new client.Configuration(metadata, p.clientId, undefined, auth);
        if (p.allowHttpIssuer) client.allowInsecureRequests(configuration);
        // enableNonRepudiationChecks: verify every ID token's signature against the provider's JWKS,
        // also those from the token endpoint and refreshes (openid-client skips it by default, as
        // OIDC Core §3.1.3.7 permits over TLS; we do not rely on the channel alone).
        client.enableNonRepudiationChecks(configuration);
        configuration.timeout = timeoutS;
        configuration[client.customFetch] = operationFetch(metadata, jwks, boundedFetch({
          fetch: options.fetch,
          timeoutMs,
          limitFor: (url) =>
            url === metadata.token_endpoint ? PROVIDER_BODY_LIMITS.token : url === metadata.userinfo_endpoint ? PROVIDER_BODY_LIMITS.userinfo : PROVIDER_BODY_LIMITS.default,
        }));
        return configuration;
      },
      async signingKeys(kid) {
        return (await discovered()).jwks.get(kid);
      },
    });
  }
  return providers;
}

/**
 * The fetch of one operation. openid-client keeps its own JWKS cache, keyed by the configuration,
 * which refetches on an unknown `kid` only once the set is 60 s old and makes a request per
 * caller; a fresh configuration per operation leaves it empty, so it asks for the key set at every
 * verification — and gets the one {@link JwksCache} holds, refetched at once if the ID token just
 * received names a `kid` it does not know. openid-client still selects the key and checks the
 * signature.
 */
function operationFetch(metadata: client.ServerMetadata, jwks: JwksCache, fetchBounded: client.CustomFetch): client.CustomFetch {
  let kid: string | undefined;
  return async (url, init) => {
    if (url === metadata.jwks_uri) {
      return new Response(JSON.stringify(await jwks.get(kid)), { status: 200, headers: { 'content-type': 'application/json' } });
    }
    const response = await fetchBounded(url, init);
    if (url === metadata.token_endpoint && response.ok) kid = idTokenKid(await response.clone().text());
    return response;
  };
}

/** The `kid` in the header of the ID token of a token response, if any (unverified: only picks the key set). */
function idTokenKid(body: string): string | undefined {
  try {
    const idToken = (JSON.parse(body) as { id_token?: unknown }).id_token;
    const kid = typeof idToken === 'string' ? decodeProtectedHeader(idToken).kid : undefined;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** Downloads the provider's JWKS through the bounded fetch. */
async function downloadJwks(metadata: client.ServerMetadata, fetchBounded: client.CustomFetch): Promise<JSONWebKeySet> {
  if (!metadata.jwks_uri) throw new GatehouseError('login_failed', { message: 'The sign-in provider publishes no jwks_uri.' });
  const response = await fetchBounded(metadata.jwks_uri, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    body: undefined,
    redirect: 'manual',
  });
  if (response.status >= 500) {
    throw new GatehouseError('provider_unavailable', { message: `The sign-in provider's JWKS endpoint answered ${response.status}.` });
  }
  let jwks: unknown;
  try {
    jwks = response.status === 200 ? await response.json() : undefined;
  } catch {
    jwks = undefined;
  }
  if (!isKeySet(jwks)) {
    throw new GatehouseError('login_failed', { message: `The sign-in provider's JWKS endpoint answered ${response.status} without a JWK set.` });
  }
  return jwks;
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  const keys = (value as { keys?: unknown } | undefined)?.keys;
  return Array.isArray(keys) && keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}

/** What went wrong with discovery, in words an operator can act on. */
function discoveryProblem(p: ProviderConfig, error: unknown): string {
  const detail = error as { message?: string; cause?: { attribute?: string; body?: { issuer?: unknown } } };
  if (detail.cause?.attribute === 'issuer') {
    // OIDC Discovery §4.3: the issuer in the metadata must be exactly the one configured.
    return `The sign-in provider "${p.id}" announces the issuer "${String(detail.cause.body?.issuer)}", not the configured "${p.issuer}": fix providers[].issuer (a mismatch can mean a mix-up or a misrouted discovery request).`;
  }
  return `The sign-in provider "${p.id}" cannot be reached or its metadata is invalid (${detail.message ?? 'unknown error'}).`;
}

async function clientAuth(p: ProviderConfig): Promise<client.ClientAuth> {
  if (p.privateKeyJwt) {
    const key = await importPKCS8(readFileSync(p.privateKeyJwt.keyFile, 'utf8'), p.privateKeyJwt.alg);
    return client.PrivateKeyJwt(p.privateKeyJwt.kid ? { key, kid: p.privateKeyJwt.kid } : key);
  }
  return client.ClientSecretBasic(p.clientSecret as string);
}
