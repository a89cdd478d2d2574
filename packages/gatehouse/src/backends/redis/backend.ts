import type { Clock } from '../../clock.js';
import { configSchema, type GatehouseConfig } from '../../config/schema.js';
import { createRedisCoordination } from '../coordination/redis.js';
import type { Coordination } from '../coordination/types.js';
import { BootError } from '../../errors.js';
import { createCoordinationRevocations } from '../revocations/coordination.js';
import { createRedisStore } from '../stores/redis.js';
import type { RevocationList, SessionStore } from '../../session/model.js';
import { openRedisConnection } from './connection.js';
import { parseRedisUrl } from '../../config/redis-url.js';

/** The config's `redis` block: key prefix and timeouts (ms). */
export type RedisOptions = GatehouseConfig['redis'];

/** The schema defaults, for callers without a config (tests, the library). */
export const DEFAULT_REDIS_OPTIONS: RedisOptions = Object.freeze(configSchema.shape.redis.parse({}));

/** Options for {@link openRedisBackend}. */
export interface RedisBackendOptions {
  clock?: Clock | undefined;
  /** The config's `redis` block. Default: the schema's defaults. */
  redis?: RedisOptions | undefined;
  /** Told about failures no caller sees (connection lost, reconnect attempts failing). */
  onError?: ((error: unknown) => void) | undefined;
  /** Longest pause between reconnection attempts, ms. Default 2 000. */
  maxReconnectDelay?: number | undefined;
}

/**
 * The session store and coordination over one Redis connection (`session.store` is a redis URL
 * in any of its forms), and the cookie-mode revocation list as coordination values.
 * Waits for the first connection at most `redis.connectTimeout`, and never fails for want of Redis (it reports `GH_STORE_UNREACHABLE` to `onError`): until it answers, requests get 503 `store_unavailable` and `/readyz`
 * fails, and service resumes by itself when it does, without a restart.
 * The connection closes when both the store and the coordination have been closed.
 *
 * @throws BootError `GH_STORE_URL_INVALID` for a malformed URL (config validation reports it earlier, naming the key); the
 * message never contains the password.
 */
export async function openRedisBackend(
  url: string,
  options: RedisBackendOptions = {},
): Promise<{ store: SessionStore; coordination: Coordination; revocations: RevocationList }> {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new BootError('GH_STORE_URL_INVALID', `redis session store: ${parsed.problem}.`);
  const redis = options.redis ?? DEFAULT_REDIS_OPTIONS;
  const connection = openRedisConnection(parsed.target, {
    keyPrefix: redis.keyPrefix,
    connectTimeout: redis.connectTimeout,
    commandTimeout: redis.commandTimeout,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.maxReconnectDelay !== undefined ? { maxReconnectDelay: options.maxReconnectDelay } : {}),
  });
  // A gateway that starts together with its Redis should not answer its first requests with 503.
  if (!(await connection.ready(redis.connectTimeout))) {
    const message = `redis did not answer within ${redis.connectTimeout} ms at start-up: starting anyway; requests get 503 store_unavailable until it answers`;
    options.onError?.(new BootError('GH_STORE_UNREACHABLE', message));
  }
  const common = { connection, ...(options.clock ? { clock: options.clock } : {}) };
  const coordination = createRedisCoordination({ ...common, ...(options.onError ? { onError: options.onError } : {}) });
  return {
    store: createRedisStore(common),
    coordination,
    revocations: createCoordinationRevocations({ coordination, ...(options.clock ? { clock: options.clock } : {}) }),
  };
}
