import type { ConfigProblem } from '../../errors.js';
import { isRedisUrl, parseRedisUrl } from '../redis-url.js';
import { formatDuration } from './format.js';
import type { PartialConfig } from './types.js';

/** Cookie Max-Age cap: user agents clamp Expires/Max-Age to 400 days (RFC 6265bis §4.1.2.1, §4.1.2.2). */
export const MAX_COOKIE_AGE_MS = 400 * 86_400_000;

/** `session.idleTimeout` within `session.absoluteTimeout`, and both within a cookie's lifetime. */
export function checkSessionTimeouts(c: PartialConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const session = c.session;
  if (session && session.idleTimeout > session.absoluteTimeout) {
    const message = `${formatDuration(session.idleTimeout)} is longer than session.absoluteTimeout (${formatDuration(session.absoluteTimeout)}), so it would never apply. Set it to at most ${formatDuration(session.absoluteTimeout)}.`;
    problems.push({ key: 'session.idleTimeout', message });
  }
  // User agents cap cookie lifetime at 400 days (RFC 6265bis §4.1.2.2): a longer session would outlive its cookie.
  if (session && session.absoluteTimeout > MAX_COOKIE_AGE_MS) {
    const message = `${formatDuration(session.absoluteTimeout)} exceeds 400 days, the longest cookie lifetime browsers allow (RFC 6265bis §4.1.2.2). Set it to "400d" or less.`;
    problems.push({ key: 'session.absoluteTimeout', message });
  }
  // Cookie mode slides the stored session (the registry) only when it revalidates: a revalidation
  // interval past the idle timeout would let the registry expire under a session in active use.
  if (session && session.mode === 'cookie' && session.revalidateEvery * 2 > session.idleTimeout) {
    const message = `${formatDuration(session.revalidateEvery)} is more than half of session.idleTimeout (${formatDuration(session.idleTimeout)}): in cookie mode the stored session is kept alive by these checks. Set it to at most ${formatDuration(Math.floor(session.idleTimeout / 2))}.`;
    problems.push({ key: 'session.revalidateEvery', message });
  }
  return problems;
}

/** A redis `session.store` URL is parsed here, so a typo fails at start-up, not at the first login. */
export function checkSessionStore(config: PartialConfig): ConfigProblem[] {
  const session = config.session?.store;
  if (session === undefined || !isRedisUrl(session)) return [];
  const parsed = parseRedisUrl(session);
  // The problem text never quotes the URL: it may hold the Redis password.
  if (!('problem' in parsed)) return [];
  return [
    {
      key: 'session.store',
      message: `the Redis URL is malformed (${parsed.problem}). Write "redis://[user:password@]host:6379[/db]", "redis-sentinel://[user:password@]host:26379,…/<masterName>[?db=N]" or "redis-cluster://[user:password@]host:6379,…" (with "rediss" for TLS: "rediss://", "rediss-sentinel://", "rediss-cluster://"); percent-encode special characters in the password.`,
    },
  ];
}
