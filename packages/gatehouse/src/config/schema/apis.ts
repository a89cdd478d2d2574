import { z } from 'zod';
import { duration, urlPath } from './values.js';

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

/** `apis`: the routes proxied to upstreams. */
export const apisSection = z.array(apiEntry).default([]).describe('The API routes proxied to upstreams. Nothing else reaches an upstream.');

/** `internalTokens`: the JWTs Gatehouse signs for upstreams. */
export const internalTokensSection = z
  .strictObject({
    lifetime: duration('5m', 'exp - iat of internal tokens. At most 1h.'),
    algorithm: z.enum(['ES256', 'RS256']).default('ES256').describe('Signature algorithm of the signing keys.'),
  })
  .prefault({})
  .describe('JWTs Gatehouse signs for upstreams (RFC 9068); keys in dataDir/signing-keys.json, published at /.well-known/jwks.json.');
