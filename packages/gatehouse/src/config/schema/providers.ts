import { z } from 'zod';
import { duration, urlPath } from './values.js';

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

/** `providers`: OpenID Connect providers for federated sign-in. */
export const providersSection = z.array(providerSchema).default([]).describe('OpenID Connect providers for federated sign-in.');

/** `serviceClient`: Gatehouse's own identity for the client credentials grant. */
export const serviceClientSection = z
  .strictObject({
    issuer: z.string().describe('Issuer URL of the OAuth/OpenID provider (discovered like providers[].issuer).'),
    clientId: z.string().min(1).describe("Gatehouse's own client id there."),
    clientSecret: z.string().min(1).describe('Its client secret (client_secret_basic).'),
    scopes: z.array(z.string().min(1)).default([]).describe('Scopes requested with the client credentials grant.'),
    allowHttpIssuer: z.boolean().default(false).describe('Allow an http:// issuer on a loopback address (tests only).'),
  })
  .optional()
  .describe('Gatehouse\'s service identity for routes with token "client-credentials" (RFC 6749 §4.4).');
