import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Configuration, default as Provider } from 'oidc-provider';

/** An account of the demo / test provider. */
export interface DemoAccount {
  sub: string;
  name?: string;
  email?: string;
  emailVerified?: boolean;
  roles?: string[];
}

export interface DemoProviderOptions {
  /** 0 (default): any free loopback port. */
  port?: number;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** Where the provider posts logout tokens (OIDC Back-Channel Logout 1.0). */
  backchannelLogoutUri?: string;
  accounts: DemoAccount[];
  /** Access token lifetime in seconds (tests use short ones to exercise refresh). */
  accessTokenTtl?: number;
  /** Extra oidc-provider configuration (tests). */
  configure?: (configuration: Configuration) => void;
}

export interface DemoProvider {
  issuer: string;
  provider: Provider;
  close(): Promise<void>;
}

/**
 * panva's oidc-provider (a certified OpenID Provider) in-process on a loopback port, for
 * `gatehouse demo` and the integration tests. Its development login page signs in any username
 * (password ignored); a username that matches an account gets that account's claims.
 * Refresh tokens rotate (one-time use), PKCE is required, and it announces the `iss` response
 * parameter (RFC 9207), revocation, RP-initiated and back-channel logout.
 */
export async function startDemoProvider(options: DemoProviderOptions): Promise<DemoProvider> {
  // Loaded before anything listens, so a missing package leaves nothing behind.
  const OidcProvider = await quietly(loadOidcProvider);
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map(options.accounts.map((a) => [a.sub, a]));
  const configuration: Configuration = {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        post_logout_redirect_uris: options.postLogoutRedirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        ...(options.backchannelLogoutUri
          ? { backchannel_logout_uri: options.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
      },
    ],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    pkce: { required: () => true },
    // Put the profile and email claims into the ID token too (not only UserInfo).
    conformIdTokenClaims: false,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'roles'],
      email: ['email', 'email_verified'],
    },
    findAccount: async (_ctx, id) => {
      const account = accounts.get(id) ?? { sub: id, name: id };
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          preferred_username: id,
          ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email, email_verified: account.emailVerified ?? false } : {}),
          ...(account.roles ? { roles: account.roles } : {}),
        }),
      };
    },
    // Skip the consent screen: the demo client is first-party.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session?.grantIdFor(ctx.oidc.client?.clientId as string);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session?.accountId || !ctx.oidc.client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid offline_access profile email');
      await grant.save();
      return grant;
    },
    // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection); the
    // demo provider's only outgoing call is the back-channel logout to the gateway on loopback.
    fetch: (url: string | URL | Request, options?: RequestInit) => {
      const { dispatcher: _ssrfGuard, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
    issueRefreshToken: async () => true,
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: options.accessTokenTtl ?? 600,
      IdToken: 3600,
      RefreshToken: 86_400,
      Session: 86_400,
      Grant: 86_400,
      Interaction: 600,
    },
    cookies: { keys: [`demo-${Math.random().toString(36).slice(2)}`] },
  };
  options.configure?.(configuration);
  // oidc-provider warns (rightly) about its development-only keys, login page and memory adapter,
  // and about Node 20; for the demo and the tests those are the point, so they are not repeated.
  const provider = await quietly(async () => new OidcProvider(issuer, configuration));
  // Plain HTTP on loopback: the gateway allows it for this issuer only (allowHttpIssuer).
  provider.proxy = false;
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * oidc-provider is an optional dependency of gatehouse: only the demo and the tests run a
 * provider, so a production install (`--omit=optional`) does without it. Loaded on demand.
 */
async function loadOidcProvider(): Promise<typeof Provider> {
  try {
    return (await import('oidc-provider')).default;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !String((error as Error).message).includes("'oidc-provider'")) throw error;
    throw new Error('the demo OpenID provider needs the optional package oidc-provider, which is not installed: run `npm install oidc-provider`', { cause: error });
  }
}

/** Runs `create` with oidc-provider's start-up warnings filtered out of console.warn. */
async function quietly<T>(create: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) return;
    warn(...args);
  };
  try {
    return await create();
  } finally {
    console.warn = warn;
  }
}
