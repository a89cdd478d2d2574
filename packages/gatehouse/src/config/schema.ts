import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The one configuration schema. Objects are strict: an unknown key is an error, because a typo in
 * a security setting must not silently fall back to a default. `npm run schema` writes the JSON
 * Schema editors use (`gatehouse.schema.json`) from this file.
 */

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .superRefine((value, ctx) => {
      if (parseDuration(value) === null) {
        ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration: write e.g. "30m", "12h", "45s", "7d".` });
      }
    })
    .transform((value) => parseDuration(value) ?? 0);

const urlPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'must be an absolute URL path such as "/files".')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain "." or ".." segments.');

const storeUrl = z
  .string()
  .regex(/^(memory|sqlite:.+)$/, 'must be "memory" or "sqlite:<path>" (redis and postgres arrive with scale-out).');

export const cookieSchema = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie token (letters, digits, -_.).').default('__Host-gatehouse'),
  sameSite: z.enum(['strict', 'lax', 'none']).default('strict'),
  secure: z.boolean().default(true),
  httpOnly: z.boolean().default(true),
  path: z.string().default('/'),
  domain: z.string().optional(),
  /** Max-Age = the absolute timeout, so the session survives a browser restart. false: a browser-session cookie. */
  persistent: z.boolean().default(true),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /** `development` relaxes exactly two things: plain HTTP on a loopback address, and a CORS allowlist. */
  mode: z.enum(['production', 'development']).default('production'),
  /** The one origin the browser sees, e.g. `https://app.example.com`. CSRF checks compare against it. */
  publicOrigin: z.string(),
  /** Where certificates, keys and the SQLite database live. Relative to the config file. */
  dataDir: z.string().default('./data'),
  listen: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8443),
      tls: z
        .union([z.literal('self-signed'), z.literal(false), z.strictObject({ cert: z.string(), key: z.string() })])
        .default('self-signed'),
    })
    .prefault({}),
  /** Trust X-Forwarded-* from a proxy in front (Fastify's trustProxy: true, a hop count, or addresses). */
  trustProxy: z.union([z.boolean(), z.number().int().min(0), z.string()]).default(false),
  spa: z
    .strictObject({
      root: z.string(),
      index: z.string().default('index.html'),
    })
    .optional(),
  static: z
    .array(
      z.strictObject({
        path: urlPath,
        root: z.string(),
        protected: z.boolean().default(true),
        /** When set, the session's user needs one of these roles. */
        roles: z.array(z.string()).optional(),
      }),
    )
    .default([]),
  session: z
    .strictObject({
      /** Default: `sqlite:<dataDir>/gatehouse.db`. A relative sqlite path is relative to the config file. */
      store: storeUrl.optional(),
      idleTimeout: duration('30m'),
      absoluteTimeout: duration('12h'),
      cookie: cookieSchema.prefault({}),
    })
    .prefault({}),
  local: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Where accounts live. Default: `sqlite:<dataDir>/gatehouse.db` (the same file as sessions). */
      store: storeUrl.optional(),
      throttle: z
        .strictObject({
          /** Failures for one username within `window` before it is locked for `lockout`. */
          accountFailures: z.number().int().min(1).default(5),
          /** Failures from one client address within `window` before it is throttled. */
          addressFailures: z.number().int().min(1).default(50),
          window: duration('15m'),
          /** First lockout; doubles on each further lockout, capped at `maxLockout`, never permanent. */
          lockout: duration('1m'),
          maxLockout: duration('15m'),
        })
        .prefault({}),
    })
    .prefault({}),
  cors: z
    .strictObject({
      allowOrigins: z.union([z.array(z.string()), z.literal('*'), z.literal(true)]).default([]),
      allowCredentials: z.boolean().default(true),
    })
    .prefault({}),
  headers: z
    .strictObject({
      contentSecurityPolicy: z
        .union([z.string(), z.literal(false)])
        .default(
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
      referrerPolicy: z.string().default('strict-origin-when-cross-origin'),
      hsts: z
        .strictObject({
          maxAge: z.number().int().min(0).default(31_536_000),
          includeSubDomains: z.boolean().default(true),
          preload: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  auth: z
    .strictObject({
      prefix: urlPath.default('/auth'),
      /** Where a navigation to a protected page without a session is sent (`?returnTo=` is added). */
      loginPage: urlPath.default('/'),
    })
    .prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The configuration as written in the file. */
export type GatehouseConfigInput = z.input<typeof configSchema>;
/** The validated configuration: defaults filled, durations in milliseconds, paths absolute, frozen. */
export type GatehouseConfig = z.output<typeof configSchema>;
