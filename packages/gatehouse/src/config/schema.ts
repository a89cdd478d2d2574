import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The one configuration schema. Objects are strict: an unknown key is an error, because a typo in
 * a security setting must not silently fall back to a default. `npm run schema` writes the JSON
 * Schema editors use (`gatehouse.schema.json`) from this file; the descriptions below end up there.
 *
 * The schema checks each key on its own. Combinations that are unsafe (a plain-HTTP origin in
 * production, `SameSite=None`, a CORS wildcard…) are refused in `validate.ts`; paths and store URLs
 * are made absolute in `load.ts`. `docs/configuration.md` documents every key (a test checks it).
 */

/** `30m`, `12h`, `45s`, `7d`, `500ms`. The JSON Schema carries the pattern so editors flag typos. */
const DURATION = /^\d+(ms|s|m|h|d)$/;

const duration = (fallback: string, description: string) =>
  z
    .string()
    .regex(DURATION, 'must be a duration: write e.g. "30m", "12h", "45s", "7d" or "500ms".')
    // Only a well-formed duration can be zero or too large; a malformed one is reported once, above.
    .refine((value) => !DURATION.test(value) || parseDuration(value) !== null, 'must be greater than zero (and below 285,000 years).')
    .default(fallback)
    .transform((value) => parseDuration(value) ?? 0)
    .describe(description);

const urlPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'must be an absolute URL path such as "/files".')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain "." or ".." segments.');

const storeUrl = z
  .string()
  .regex(
    /^(memory|sqlite:.+|rediss?:\/\/.+|rediss?-sentinel:\/\/.+|rediss?-cluster:\/\/.+|postgres(ql)?:\/\/.+)$/,
    'must be "memory", "sqlite:<path>", "redis://host:port", "rediss://…", "redis-sentinel://host:port,…/<master>", "redis-cluster://host:port,…" (TLS: "rediss-sentinel://…", "rediss-cluster://…") or "postgres://…".',
  );

export const cookieSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie token (letters, digits, -_.).')
    .default('__Host-gatehouse')
    .describe('Session cookie name. Must start with "__Host-".'),
  sameSite: z.enum(['strict', 'lax', 'none']).default('strict').describe('SameSite attribute. "none" is refused.'),
  secure: z.boolean().default(true).describe('Secure attribute. false is refused.'),
  httpOnly: z.boolean().default(true).describe('HttpOnly attribute. false is refused.'),
  path: z.string().default('/').describe('Path attribute. Must be "/" (a __Host- cookie rule).'),
  domain: z.string().optional().describe('Domain attribute. Refused: a __Host- cookie has no Domain.'),
  persistent: z
    .boolean()
    .default(true)
    .describe('Max-Age = the absolute timeout, so the session survives a browser restart. false: a browser-session cookie.'),
});

/** Symbolic links below a served root (src/static/confine.ts): a link in a build output must not serve the machine's files. */
const symlinkPolicy = z
  .enum(['refuse', 'inside'])
  .default('refuse')
  .describe('Symbolic links below the root: "refuse" follows none (the file served is the one the URL names); "inside" follows a link that resolves inside the root to a file that is not hidden. A link out of the root is a 404 either way.');

const staticEntry = z.strictObject({
  path: urlPath.describe('URL path prefix, e.g. "/files".'),
  root: z.string().describe('Directory served under `path`. Relative to the config file.'),
  protected: z.boolean().default(true).describe('Serve files only to a signed-in user.'),
  roles: z
    .array(z.string())
    .optional()
    .describe("When set, the session's user needs one of these roles."),
  symlinks: symlinkPolicy,
});

const throttle = z.strictObject({
  accountFailures: z
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Failures for one username within `window` before it is locked for `lockout`.'),
  addressFailures: z
    .number()
    .int()
    .min(1)
    .default(50)
    .describe('Failures from one client address within `window` before it is throttled.'),
  window: duration('15m', 'Window in which failures are counted.'),
  lockout: duration('1m', 'First lockout; doubles on each further lockout, capped at `maxLockout`, never permanent.'),
  maxLockout: duration('15m', 'Longest lockout. Must be at least `lockout`.'),
  ipv6Prefix: z
    .number()
    .int()
    .min(32)
    .max(128)
    .default(56)
    .describe('IPv6 addresses sharing this prefix length count as one client for `addressFailures` and the fair share of sign-in capacity (32–128; most ISPs give each site a /56, some a /48).'),
});

const providerSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a short lowercase id (letters, digits, "-", "_"), e.g. "corp".')
    .describe('Short id used in URLs: /auth/login?provider=<id>, /auth/callback/<id>.'),
  name: z.string().optional().describe('Display name for sign-in buttons (default: the id).'),
  issuer: z
    .string()
    .describe('Issuer URL. Discovered at <issuer>/.well-known/openid-configuration; the discovered issuer must match exactly.'),
  clientId: z.string().min(1).describe('Client id registered at the provider.'),
  clientSecret: z.string().min(1).optional().describe('Client secret (client_secret_basic). Or use privateKeyJwt.'),
  privateKeyJwt: z
    .strictObject({
      keyFile: z.string().describe('PEM (PKCS#8) private key file. Relative to the config file.'),
      alg: z.enum(['RS256', 'PS256', 'ES256', 'EdDSA']).default('RS256').describe('Signing algorithm.'),
      kid: z.string().optional().describe('Key id registered at the provider.'),
    })
    .optional()
    .describe('Authenticate with a signed JWT (private_key_jwt) instead of a client secret.'),
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('Requested scopes; must include "openid".'),
  userinfo: z.boolean().default(false).describe("Also fetch UserInfo (its sub must equal the ID token's)."),
  claims: z
    .strictObject({
      username: z.string().default('preferred_username').describe('Claim for user.username.'),
      name: z.string().default('name').describe('Claim for user.name.'),
      email: z.string().default('email').describe('Claim for user.email.'),
      roles: z.string().optional().describe('Claim (array or space-separated string) for user.roles.'),
    })
    .prefault({})
    .describe('How ID token / UserInfo claims map onto the session user.'),
  linkLocalAccount: z
    .enum(['never', 'verified-email'])
    .default('never')
    .describe('"verified-email": a user whose verified email equals a local username signs in as that local account.'),
  authorizationParams: z
    .record(z.string(), z.string())
    .default({})
    .describe('Extra authorization request parameters (e.g. { "prompt": "login" }).'),
  postLogoutRedirectPath: urlPath.default('/').describe('Where the provider sends the browser after logout (registered there).'),
  logoutIdTokenHint: z
    .boolean()
    .default(true)
    .describe(
      'Send the ID token as id_token_hint in the end-session URL (the browser carries it to the provider). false: send client_id only; some providers then ask the user to confirm.',
    ),
  allowHttpIssuer: z
    .boolean()
    .default(false)
    .describe('Allow an http:// issuer on a loopback address (local test providers only).'),
  timeout: duration(
    '10s',
    'Longest wait for one request to the provider (discovery, JWKS, token, UserInfo, revocation), body included; past it the sign-in answers 502 provider_unavailable.',
  ),
});

export type ProviderConfig = z.output<typeof providerSchema>;

/** Methods a proxied route forwards when `methods` is not set. OPTIONS and TRACE only when listed. */
export const DEFAULT_API_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const apiEntry = z.strictObject({
  path: urlPath.describe('URL path prefix the browser calls, e.g. "/api/orders". The route takes it and everything below it.'),
  upstream: z
    .string()
    .describe('http(s) URL the path maps to: "/api/orders/42" → "<upstream>/42". Query strings pass through.'),
  auth: z
    .enum(['required', 'optional', 'none'])
    .default('required')
    .describe('"required": only with a session (401 otherwise); "optional": with or without; "none": no session is looked at.'),
  token: z
    .enum(['none', 'user', 'internal', 'client-credentials'])
    .default('none')
    .describe(
      'Authorization sent upstream: "user" (the OIDC access token), "internal" (a JWT Gatehouse signs), "client-credentials" (Gatehouse\'s own token from serviceClient), or "none".',
    ),
  audience: z.string().min(1).optional().describe('aud of internal tokens (required with token "internal"); resource indicator for client-credentials.'),
  methods: z
    .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
    .min(1)
    .optional()
    .describe('Methods forwarded; others get 405. Default: GET, HEAD, POST, PUT, PATCH, DELETE.'),
  roles: z.array(z.string()).optional().describe('With auth "required": the user needs one of these roles (403 otherwise).'),
  timeout: duration('30s', 'Longest wait for the upstream\'s response headers, and between body chunks (504 upstream_timeout).'),
  forwardCookies: z
    .array(z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie name.'))
    .default([])
    .describe("Names of the browser's other cookies forwarded upstream. Gatehouse's own cookies never are."),
  forwardHeaders: z
    .array(z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a header name (RFC 9110 §5.1 token).'))
    .optional()
    .describe(
      'Strict allowlist of the browser\'s request headers forwarded upstream (plus Content-Length and the headers Gatehouse sets). Unset: every header except the dropped families of docs/upstreams.md.',
    ),
  allowSetCookie: z.boolean().default(false).describe("Pass the upstream's Set-Cookie to the browser (never for Gatehouse's cookie names)."),
  websocket: z.boolean().default(false).describe('Also proxy WebSocket upgrades (same-origin Origin required).'),
});

export type ApiConfig = z.output<typeof apiEntry>;

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of gatehouse.schema.json, for editor completion.'),
    mode: z
      .enum(['production', 'development'])
      .default('production')
      .describe('"development" relaxes exactly three things: plain HTTP on a loopback address, a CORS allowlist, and `spa.upstream` (a dev server instead of the built SPA).'),
    publicOrigin: z
      .string()
      .describe('The one origin the browser sees, e.g. "https://app.example.com". CSRF checks compare against it.'),
    dataDir: z
      .string()
      .default('./data')
      .describe('Where certificates, keys and the SQLite database live. Relative to the config file.'),
    listen: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1').describe('Address to listen on.'),
        port: z.number().int().min(0).max(65535).default(8443).describe('TCP port (0: any free port).'),
        tls: z
          .union([
            z.literal('self-signed'),
            z.literal(false),
            z.strictObject({
              cert: z.string().describe('PEM certificate (chain) file. Relative to the config file.'),
              key: z.string().describe('PEM private key file. Relative to the config file.'),
            }),
          ])
          .default('self-signed')
          .describe(
            '"self-signed" (generated into dataDir), { "cert", "key" } PEM file paths relative to the config file, or false (only behind a TLS proxy, or on loopback in development).',
          ),
        // Connection bounds (src/http/listener.ts): silent or slow connections must not hold descriptors.
        handshakeTimeout: duration('5s', 'A TLS handshake not finished within this long is dropped.'),
        firstRequestTimeout: duration('10s', 'A connection that sends no request within this long of opening (after TLS) is closed.'),
        headersTimeout: duration('20s', "A request's headers must all arrive within this long (408). At most `requestTimeout`."),
        requestTimeout: duration('30s', 'A whole request, body included, must arrive within this long (408).'),
        keepAliveTimeout: duration('5s', 'An idle keep-alive connection is closed after this long. Behind a load balancer: above its idle timeout.'),
        sendTimeout: duration('60s', 'A response the client has stopped reading (nothing accepted for this long) is cut and its connection closed.'),
        maxConnections: z
          .number()
          .int()
          .min(1)
          .default(4096)
          .describe('Connections open at once; beyond it, new connections are closed as they arrive.'),
        shutdownTimeout: duration('10s', 'On shutdown, requests in flight get this long to finish; then every connection is closed.'),
      })
      .prefault({})
      .describe('Where the gateway listens, and the bounds of each connection.'),
    trustProxy: z
      // A count that is not a whole number >= 0 is refused in validate.ts, with the fix.
      .union([z.boolean(), z.number(), z.string(), z.array(z.string())])
      .default(false)
      .describe(
        'The proxies in front whose X-Forwarded-For is believed: a hop count (e.g. 1), or their addresses/CIDRs ("10.0.0.1,10.0.0.0/8" or a list); true (every hop) only in development.',
      ),
    spa: z
      .strictObject({
        root: z.string().optional().describe('Directory of the built SPA. Relative to the config file. Exactly one of `root` and `upstream`.'),
        upstream: z
          .string()
          .optional()
          .describe(
            'Development only: origin of a dev server on this machine (e.g. "http://localhost:5173") that serves the SPA instead of `root`, its HMR WebSocket included.',
          ),
        index: z.string().default('index.html').describe('File served for unknown paths (client-side routing).'),
        symlinks: symlinkPolicy,
      })
      .optional()
      .describe('The single-page application to serve: a built directory (`root`) or, in development, a dev server (`upstream`).'),
    static: z.array(staticEntry).default([]).describe('Extra static directories, protected by default.'),
    session: z
      .strictObject({
        store: storeUrl
          .optional()
          .describe(
            'Session store: "memory", "sqlite:<path>", "redis://…" / "rediss://…" / "redis-sentinel://h:p,…/<master>" / "redis-cluster://h:p,…" (TLS: "rediss-sentinel://…" / "rediss-cluster://…"), or "postgres://…". Default "sqlite:<dataDir>/gatehouse.db"; a relative sqlite path is relative to the config file.',
          ),
        idleTimeout: duration('30m', 'A session unused for this long ends. At most `absoluteTimeout`.'),
        absoluteTimeout: duration('12h', 'A session ends this long after sign-in, however active. At most 400d.'),
        maxPerUser: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(50)
          .describe("Most live sessions one user may have. A sign-in beyond it ends the user's oldest sessions, never the new one."),
        cookie: cookieSchema.prefault({}).describe('The session cookie.'),
      })
      .prefault({})
      .describe('Server-side sessions.'),
    local: z
      .strictObject({
        enabled: z.boolean().default(false).describe('Offer username/password sign-in with local accounts.'),
        store: storeUrl
          .optional()
          .describe(
            'Where accounts live: "sqlite:<path>", "postgres://…" or "memory". Default: "sqlite:<dataDir>/gatehouse.db" (the same file as sessions).',
          ),
        throttle: throttle.prefault({}).describe('Brute-force protection.'),
        deviceCookies: z
          .boolean()
          .default(true)
          .describe(
            'OWASP device cookies: a browser that signed in before gets a reserved share of sign-in capacity and is locked out only by its own failures, not by floods or lockouts from elsewhere. The password is always checked.',
          ),
      })
      .prefault({})
      .describe('Local accounts.'),
    providers: z.array(providerSchema).default([]).describe('OpenID Connect providers for federated sign-in.'),
    apis: z.array(apiEntry).default([]).describe('The API routes proxied to upstreams. Nothing else reaches an upstream.'),
    internalTokens: z
      .strictObject({
        lifetime: duration('5m', 'exp - iat of internal tokens. At most 1h.'),
        algorithm: z.enum(['ES256', 'RS256']).default('ES256').describe('Signature algorithm of the signing keys.'),
      })
      .prefault({})
      .describe('JWTs Gatehouse signs for upstreams (RFC 9068); keys in dataDir/signing-keys.json, published at /.well-known/jwks.json.'),
    serviceClient: z
      .strictObject({
        issuer: z.string().describe('Issuer URL of the OAuth/OpenID provider (discovered like providers[].issuer).'),
        clientId: z.string().min(1).describe("Gatehouse's own client id there."),
        clientSecret: z.string().min(1).describe('Its client secret (client_secret_basic).'),
        scopes: z.array(z.string().min(1)).default([]).describe('Scopes requested with the client credentials grant.'),
        allowHttpIssuer: z.boolean().default(false).describe('Allow an http:// issuer on a loopback address (tests only).'),
      })
      .optional()
      .describe('Gatehouse\'s service identity for routes with token "client-credentials" (RFC 6749 §4.4).'),
    redis: z
      .strictObject({
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'must be 1–64 characters of letters, digits, ":", ".", "_" or "-".')
          .default('gatehouse:')
          .describe('Prefix of every Redis key Gatehouse writes (share one Redis between deployments with different prefixes).'),
        connectTimeout: duration('5s', 'Give up connecting (and answer 503) after this long.'),
        commandTimeout: duration('2s', 'A Redis command that takes longer fails (503 store_unavailable) instead of hanging requests.'),
      })
      .prefault({})
      .describe('Redis options, used when `session.store` is a redis URL.'),
    postgres: z
      .strictObject({
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier (letters, digits, "_").')
          .default('gatehouse')
          .describe('PostgreSQL schema holding Gatehouse\'s tables.'),
        poolSize: z.number().int().min(1).max(1000).default(10).describe('Connections in the pool (per instance).'),
        migrateOnStart: z
          .boolean()
          .default(true)
          .describe('Create or upgrade the schema on start. false: run `gatehouse migrate` yourself (the database user then needs no DDL rights).'),
        connectTimeout: duration('5s', 'Give up connecting (and answer 503) after this long.'),
        queryTimeout: duration('5s', 'A query that takes longer fails (503 store_unavailable).'),
      })
      .prefault({})
      .describe('PostgreSQL options, used when `session.store` or `local.store` is a postgres URL.'),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(false).describe('Expose Prometheus metrics.'),
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .optional()
          .describe('Serve `/metrics` on this separate admin port (plain HTTP) instead of the public origin. Recommended.'),
        host: z.string().default('127.0.0.1').describe('Address of the admin listener (with `port`).'),
        public: z
          .boolean()
          .default(false)
          .describe('Production without `port`: serve `/metrics` on the public origin anyway (restrict it at your load balancer).'),
      })
      .prefault({})
      .describe('Prometheus metrics at `/metrics`.'),
    cors: z
      .strictObject({
        allowOrigins: z
          .union([z.array(z.string()), z.literal('*'), z.literal(true)])
          .default([])
          .describe('Origins allowed to call cross-origin. Development only; "*" and true are refused.'),
        allowCredentials: z.boolean().default(true).describe('Send Access-Control-Allow-Credentials: true.'),
      })
      .prefault({})
      .describe('CORS. Off by default: the SPA and the API share one origin.'),
    headers: z
      .strictObject({
        contentSecurityPolicy: z
          .union([z.string(), z.literal(false)])
          .default(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
          )
          .describe('Content-Security-Policy header, or false to send none.'),
        referrerPolicy: z.string().default('strict-origin-when-cross-origin').describe('Referrer-Policy header.'),
        hsts: z
          .strictObject({
            maxAge: z.number().int().min(0).default(31_536_000).describe('max-age in seconds.'),
            includeSubDomains: z.boolean().default(true).describe('includeSubDomains directive.'),
            preload: z.boolean().default(false).describe('preload directive (needs includeSubDomains and maxAge >= 1 year).'),
          })
          .prefault({})
          .describe('Strict-Transport-Security header.'),
      })
      .prefault({})
      .describe('Security response headers.'),
    auth: z
      .strictObject({
        prefix: urlPath.default('/auth').describe('URL prefix of the auth endpoints.'),
        loginPage: urlPath
          .default('/')
          .describe('Where a navigation to a protected page without a session is sent (`?returnTo=` is added).'),
      })
      .prefault({})
      .describe('Auth endpoints.'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level.'),
  })
  .describe('Gatehouse configuration');

/** The configuration as written in the file. */
export type GatehouseConfigInput = z.input<typeof configSchema>;

/** What the schema alone produces: defaults filled, durations in milliseconds; paths not yet resolved. */
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * The validated configuration: defaults filled, durations in milliseconds, paths absolute, store
 * URLs resolved (`session.store` and `local.store` always set), `publicOrigin` normalized, frozen.
 */
export type GatehouseConfig = Omit<ParsedConfig, 'session' | 'local'> & {
  session: Omit<ParsedConfig['session'], 'store'> & { store: string };
  local: Omit<ParsedConfig['local'], 'store'> & { store: string };
};
