// The value types several sections of the schema share: durations, URL paths, store URLs.
import { z } from 'zod';
import { parseDuration } from '../duration.js';

/** `30m`, `12h`, `45s`, `7d`, `500ms`. The JSON Schema carries the pattern so editors flag typos. */
export const DURATION = /^\d+(ms|s|m|h|d)$/;

/** A duration already matched by {@link DURATION}, in ms (0 when out of range: refined by callers). */
export const parseDurationValue = (value: string): number => parseDuration(value) ?? 0;

export const duration = (fallback: string, description: string) =>
  z
    .string()
    .regex(DURATION, 'must be a duration: write e.g. "30m", "12h", "45s", "7d" or "500ms".')
    // Only a well-formed duration can be zero or too large; a malformed one is reported once, above.
    .refine((value) => !DURATION.test(value) || parseDuration(value) !== null, 'must be greater than zero (and below 285,000 years).')
    .default(fallback)
    .transform((value) => parseDuration(value) ?? 0)
    .describe(description);

export const urlPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'must be an absolute URL path such as "/files".')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain "." or ".." segments.');

export const storeUrl = z
  .string()
  .regex(
    /^(memory|sqlite:.+|rediss?:\/\/.+|rediss?-sentinel:\/\/.+|rediss?-cluster:\/\/.+|postgres(ql)?:\/\/.+)$/,
    'must be "memory", "sqlite:<path>", "redis://host:port", "rediss://…", "redis-sentinel://host:port,…/<master>", "redis-cluster://host:port,…" (TLS: "rediss-sentinel://…", "rediss-cluster://…") or "postgres://…".',
  );
