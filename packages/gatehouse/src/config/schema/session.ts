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
    cookie: cookieSchema.prefault({}).describe('The session cookie.'),
  })
  .prefault({})
  .describe('Server-side sessions.');
