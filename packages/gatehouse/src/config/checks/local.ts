import type { ConfigProblem } from '../../errors.js';
import { formatDuration } from './format.js';
import type { PartialConfig } from './types.js';

/** `local.throttle.maxLockout`: a cap that does not cut the first lockout. */
export function checkLocalThrottle(c: PartialConfig): ConfigProblem[] {
  const throttle = c.local?.throttle;
  if (!throttle || throttle.maxLockout >= throttle.lockout) return [];
  const message = `${formatDuration(throttle.maxLockout)} is shorter than local.throttle.lockout (${formatDuration(throttle.lockout)}): the cap would cut the first lockout. Set it to at least ${formatDuration(throttle.lockout)}.`;
  return [{ key: 'local.throttle.maxLockout', message }];
}

/** Accounts need a durable, queryable store; Redis (often run without persistence) is not one. */
export function checkLocalStore(config: PartialConfig): ConfigProblem[] {
  const local = config.local?.store;
  if (local === undefined || !/^rediss?(-sentinel|-cluster)?:/.test(local)) return [];
  return [
    {
      key: 'local.store',
      message: 'accounts cannot live in Redis: use "postgres://…" (several instances) or "sqlite:<path>" (one instance).',
    },
  ];
}
