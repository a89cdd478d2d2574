import * as client from 'openid-client';
import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import { boundedFetch, PROVIDER_BODY_LIMITS } from '../http/bounded-fetch.js';
import { ExpiringCache } from './cache.js';

/** Renew a service token this long before it expires. */
export const SERVICE_TOKEN_SKEW_MS = 30_000;

/** Longest wait for one request to the service client's issuer, body included. */
const SERVICE_PROVIDER_TIMEOUT_MS = 10_000;

export interface ServiceTokenOptions {
  config: NonNullable<GatehouseConfig['serviceClient']>;
  clock: Clock;
  /** Injected fetch (tests); default: the global fetch. */
  fetch?: client.CustomFetch;
}

/**
 * Gatehouse's own service identity: access tokens from the client credentials grant (RFC 6749
 * §4.4) through openid-client, one per audience (sent as an RFC 8707 `resource` indicator),
 * cached until {@link SERVICE_TOKEN_SKEW_MS} before expiry. Single-flight per audience: a burst
 * of requests that finds no token triggers one grant. Discovery is retried after a failure.
 */
export class ServiceTokens {
  private readonly cache = new ExpiringCache<string>(256);
  private readonly inFlight = new Map<string, Promise<string>>();
  private discovery: Promise<client.Configuration> | undefined;
  private tokenEndpoint: string | undefined;

  constructor(private readonly options: ServiceTokenOptions) {}

  /** An access token for `audience` (or for no particular audience). */
  token(audience: string | undefined): Promise<string> {
    const key = audience ?? '';
    const cached = this.cache.get(key, this.options.clock());
    if (cached) return Promise.resolve(cached);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.grant(audience).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async grant(audience: string | undefined): Promise<string> {
    const { config, clock } = this.options;
    try {
      const configuration = await this.client();
      const parameters: Record<string, string> = {};
      if (config.scopes.length > 0) parameters.scope = config.scopes.join(' ');
      if (audience !== undefined) parameters.resource = audience;
      const response = await client.clientCredentialsGrant(configuration, parameters);
      const expiresIn = response.expiresIn();
      // A token without expires_in is used for one minute: the provider did not say, so do not guess long.
      const expiresAt = clock() + (expiresIn !== undefined ? expiresIn * 1000 : 60_000 + SERVICE_TOKEN_SKEW_MS);
      this.cache.set(audience ?? '', response.access_token, expiresAt - SERVICE_TOKEN_SKEW_MS);
      return response.access_token;
    } catch (error) {
      throw new GatehouseError('upstream_token_unavailable', { cause: error });
    }
  }

  private client(): Promise<client.Configuration> {
    const { config } = this.options;
    // Bounded like every provider request (size while streaming, deadline including the body): a
    // hostile or broken issuer cannot make the gateway buffer megabytes or hold an API call open.
    const fetch = boundedFetch({
      fetch: this.options.fetch,
      timeoutMs: SERVICE_PROVIDER_TIMEOUT_MS,
      limitFor: (url) => (url === this.tokenEndpoint ? PROVIDER_BODY_LIMITS.token : PROVIDER_BODY_LIMITS.default),
    });
    this.discovery ??= client
      .discovery(new URL(config.issuer), config.clientId, undefined, client.ClientSecretBasic(config.clientSecret), {
        execute: config.allowHttpIssuer ? [client.allowInsecureRequests] : [],
        timeout: 10,
        [client.customFetch]: fetch,
      })
      .then((configuration) => {
        this.tokenEndpoint = configuration.serverMetadata().token_endpoint;
        configuration[client.customFetch] = fetch;
        return configuration;
      })
      .catch((error: unknown) => {
        this.discovery = undefined;
        throw error;
      });
    return this.discovery;
  }
}
