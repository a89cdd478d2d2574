import { z } from 'zod';
import { duration, storeUrl } from './values.js';

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
  maxBytes: z
    .number()
    .int()
    .min(4096)
    .max(12288)
    .default(8192)
    .describe(
      'Cookie mode: the most bytes the session cookie may take, over all its chunks (a value over 4096 bytes is split across numbered cookies). A session that would need more is refused at sign-in with `session_too_large`, never silently dropped. Proxies in front limit request headers too (nginx: 8 KB per header line by default).',
    ),
});

/** `session`: server-side sessions and their cookie. */
export const sessionSection = z
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
    mode: z
      .enum(['server', 'cookie'])
      .default('server')
      .describe(
        '"server": the cookie holds a random id and the session lives in `session.store`. "cookie": the cookie holds the session itself, encrypted (JWE dir + A256GCM under the key ring), so a request needs no session read; the store keeps the session list, provider tokens and a revocation list checked on every request. Claims are re-checked every `revalidateEvery`.',
      ),
    revalidateEvery: duration(
      '5m',
      'Cookie mode: how often a session is checked against the store and the user\'s account (removed user, changed password, changed roles). Revocations (sign-out, "sign out everywhere", back-channel logout) apply at once; account changes within this window.',
    ),
    cookie: cookieSchema.prefault({}).describe('The session cookie.'),
  })
  .prefault({})
  .describe('Sessions and their cookie.');
