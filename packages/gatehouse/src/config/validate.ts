import type { ConfigProblem } from '../errors.js';
import { checkApis } from './checks/apis.js';
import { checkCookie } from './checks/cookie.js';
import { checkCors } from './checks/cors.js';
import { checkHsts } from './checks/headers.js';
import { checkListenerLimits, checkListenerTls } from './checks/listen.js';
import { checkLocalStore, checkLocalThrottle } from './checks/local.js';
import { checkMetrics } from './checks/metrics.js';
import { checkProviders } from './checks/providers.js';
import { checkPublicOrigin } from './checks/public-origin.js';
import { checkServiceTokens } from './checks/service-tokens.js';
import { checkSessionStore, checkSessionTimeouts } from './checks/session.js';
import { checkSpa } from './checks/spa.js';
import { checkStatic } from './checks/static.js';
import { checkTrustProxy } from './checks/trust-proxy.js';
import type { ConfigCheck, PartialConfig } from './checks/types.js';

/**
 * Unsafe combinations. The schema checks each key on its own; the checks in `checks/` (one file
 * per section) look at keys together and refuse what would weaken the gateway, each naming its
 * key, the reason (with its source) and the fix. They take a partial configuration: when part of
 * the file failed the schema, the sections that parsed are still checked, so every problem is
 * reported in one run. The filesystem check of served roots runs later, on resolved paths
 * (`checks/served-roots.ts`).
 */

export { checkServedRoots } from './checks/served-roots.js';
export type { PartialConfig } from './checks/types.js';

/** Every check, in the order its problems are reported. */
const CHECKS: readonly ConfigCheck[] = [
  checkPublicOrigin,
  checkListenerTls,
  checkListenerLimits,
  checkSpa,
  checkTrustProxy,
  checkProviders,
  checkStatic,
  checkApis,
  checkServiceTokens,
  checkCookie,
  checkLocalThrottle,
  checkSessionTimeouts,
  checkCors,
  checkHsts,
  checkSessionStore,
  checkLocalStore,
  checkMetrics,
];

/**
 * Every unsafe combination in `config`, in file order. Empty when the configuration is safe.
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2
 * @see https://fetch.spec.whatwg.org/#cors-protocol-and-credentials
 */
export function validateConfig(config: PartialConfig): ConfigProblem[] {
  return CHECKS.flatMap((check) => check(config));
}
