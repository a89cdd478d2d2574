import type { ConfigProblem } from '../../errors.js';
import type { PartialConfig } from './types.js';

/** HSTS preload list entry requirements (hstspreload.org): max-age of at least one year. */
const HSTS_PRELOAD_MIN_SECONDS = 31_536_000;

/** `headers.hsts`: preload only with what the preload lists require. */
export function checkHsts(c: PartialConfig): ConfigProblem[] {
  const hsts = c.headers?.hsts;
  // The preload list rejects entries without includeSubDomains or with max-age below one year (hstspreload.org).
  if (!hsts?.preload || (hsts.includeSubDomains && hsts.maxAge >= HSTS_PRELOAD_MIN_SECONDS)) return [];
  const message =
    'preload needs "includeSubDomains": true and "maxAge" of at least 31536000 (one year), or browsers\' preload lists reject the site (hstspreload.org). Fix those keys, or remove "preload".';
  return [{ key: 'headers.hsts.preload', message }];
}
