import { readFileSync } from 'node:fs';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';
import type { GatehouseConfig, ProviderConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';

/** One configured provider, discovered on first use and cached. */
export interface OidcProvider {
  config: ProviderConfig;
  /** The redirect URI registered at the provider: `<publicOrigin><prefix>/callback/<id>`. */
  redirectUri: string;
  /** Where the provider sends the browser after RP-initiated logout. */
  postLogoutRedirectUri: string;
  /** openid-client's configuration: metadata, client authentication, JWKS cache. */
  client(): Promise<client.Configuration>;
}

export interface ProviderOptions {
  /** Injected fetch (tests); default: the global fetch. */
  fetch?: client.CustomFetch;
  /** Seconds before a provider request gives up. */
  timeout?: number;
}

/**
 * The registry of OpenID providers. Discovery runs once per provider and is retried on the next
 * use after a failure (a provider that was down must not need a gateway restart). openid-client
 * validates the discovered issuer against the configured one and keeps the provider's JWKS, which
 * it refetches once when an ID token names an unknown `kid` (key rotation).
 */
export function createProviders(config: GatehouseConfig, options: ProviderOptions = {}): Map<string, OidcProvider> {
  const providers = new Map<string, OidcProvider>();
  for (const p of config.providers) {
    let pending: Promise<client.Configuration> | undefined;
    const discover = async (): Promise<client.Configuration> => {
      // enableNonRepudiationChecks: verify every ID token's signature against the provider's JWKS,
      // also those from the token endpoint and refreshes (openid-client skips it by default, as
      // OIDC Core §3.1.3.7 permits over TLS; we do not rely on the channel alone).
      const execute = [...(p.allowHttpIssuer ? [client.allowInsecureRequests] : []), client.enableNonRepudiationChecks];
      try {
        const configuration = await client.discovery(new URL(p.issuer), p.clientId, undefined, await clientAuth(p), {
          execute,
          timeout: options.timeout ?? 10,
          ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
        });
        configuration.timeout = options.timeout ?? 10;
        if (options.fetch) configuration[client.customFetch] = options.fetch;
        return configuration;
      } catch (error) {
        throw new GatehouseError('provider_unavailable', { message: discoveryProblem(p, error), cause: error });
      }
    };
    providers.set(p.id, {
      config: p,
      redirectUri: `${config.publicOrigin}${config.auth.prefix}/callback/${p.id}`,
      postLogoutRedirectUri: `${config.publicOrigin}${p.postLogoutRedirectPath}`,
      client() {
        pending ??= discover().catch((error: unknown) => {
          pending = undefined;
          throw error;
        });
        return pending;
      },
    });
  }
  return providers;
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
