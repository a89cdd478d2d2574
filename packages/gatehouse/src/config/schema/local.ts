import { z } from 'zod';
import { duration, storeUrl } from './values.js';

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

/** `local`: username/password sign-in with local accounts. */
export const localSection = z
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
  .describe('Local accounts.');
