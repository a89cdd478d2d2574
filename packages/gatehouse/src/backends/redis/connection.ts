import { createHash } from 'node:crypto';
import { ErrorReply } from 'redis';
import { StoreUnavailableError } from '../../errors.js';
import { createDriver, type Driver, type RedisCommand } from './driver.js';
import type { RedisTarget } from '../../config/redis-url.js';
import { sharedClose } from '../../util/shares.js';

/** What a connection needs besides its target: the config's `redis` block (durations in ms). */
export interface RedisConnectionOptions {
  /** Prefix of every key the users of this connection write. */
  keyPrefix: string;
  /** One connection attempt gives up after this long (then retries, with backoff). */
  connectTimeout: number;
  /** A command (or transaction) without an answer after this long fails with StoreUnavailableError. */
  commandTimeout: number;
  /** Longest pause between reconnection attempts, ms. Default 2 000. */
  maxReconnectDelay?: number;
  /** Told about connection failures, which have no caller to throw to (log them). */
  onError?: (error: unknown) => void;
  /**
   * @internal Tests only, not in the config: the CA certificate (PEM) that TLS connections trust
   * instead of Node's store, for a test Redis whose CA is made in-process. Deployments trust a
   * private CA through `NODE_EXTRA_CA_CERTS`, which Node reads once, at start-up.
   */
  ca?: string | undefined;
}

/** One command: its words, e.g. `['SET', key, value, 'PX', '1000']`. */
export type { RedisCommand } from './driver.js';

/** Commands on the keys of one hash slot (in practice: one key), named by `key`. */
export interface RedisCommandGroup {
  key: string;
  commands: readonly RedisCommand[];
}

/** A Lua script, sent by SHA1 (EVALSHA) once Redis knows it. */
export interface LuaScript {
  readonly body: string;
  readonly sha: string;
}

/** Defines a script. Scripts must name every key they touch in KEYS, all in one slot (Cluster). */
export function luaScript(body: string): LuaScript {
  return Object.freeze({ body, sha: createHash('sha1').update(body).digest('hex') });
}

/** The script as a plain command, for use inside a transaction (where EVALSHA cannot fall back). */
export function evalCommand(script: LuaScript, keys: readonly string[], args: readonly string[]): RedisCommand {
  return ['EVAL', script.body, String(keys.length), ...keys, ...args];
}

/**
 * One connection to Redis (a server, a Sentinel-managed master, or a Cluster), shared by the
 * session store and the coordination backend. It never throws at creation: it connects in the
 * background and keeps reconnecting (capped backoff) for as long as it is open. Every command
 * resolves, or rejects with {@link StoreUnavailableError} — while disconnected, at once (no
 * offline queue piles up); when Redis stops answering, after `commandTimeout`.
 */
export interface RedisConnection {
  readonly keyPrefix: string;
  /** One command; `key` routes it in a Cluster (undefined: any node). Replies are raw (RESP2). */
  command<T = unknown>(key: string | undefined, args: RedisCommand): Promise<T>;
  /** Run a script by SHA1, loading it on a NOSCRIPT answer. `keys` must share one slot. */
  script<T = unknown>(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<T>;
  /**
   * The groups, in order. Outside a Cluster: one MULTI/EXEC, so no other client's command runs in
   * between (Redis does not roll back a command that fails inside it, though). In a Cluster, whose
   * keys live in different slots: one MULTI per group, one after the other. Either way, callers
   * order the groups so that a write interrupted between them is harmless.
   */
  transaction(groups: readonly RedisCommandGroup[]): Promise<unknown[][]>;
  /** Resolves when Redis answers PING. */
  ping(): Promise<void>;
  /** Resolves true once connected, or false when `timeoutMs` passes (or the connection closes) first. Never rejects. */
  ready(timeoutMs: number): Promise<boolean>;
  /** A share for one user (store, coordination): the connection closes when every share is released. */
  retain(): () => Promise<void>;
  /** Closes now, whoever holds a share. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
}

class CommandTimeoutError extends Error {
  constructor(ms: number) {
    super(`redis did not answer within ${ms} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/** True when the underlying reply was WRONGTYPE: a key holds another type than ours (foreign data). */
export function isWrongTypeError(error: unknown): boolean {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  return cause instanceof ErrorReply && cause.message.startsWith('WRONGTYPE');
}

/** Opens (in the background: nothing is awaited here) a connection to `target`. */
export function openRedisConnection(target: RedisTarget, options: RedisConnectionOptions): RedisConnection {
  const { connectTimeout, commandTimeout } = options;
  const maxDelay = options.maxReconnectDelay ?? 2_000;
  const report = (error: unknown) => options.onError?.(error);
  // Capped exponential backoff with jitter, so many gateways do not reconnect in lockstep.
  const backoff = (retries: number) => Math.min(maxDelay, 50 * 2 ** Math.min(retries, 16)) + Math.floor(Math.random() * 50);

  let closed = false;
  /** The driver that has connected once; until then, commands fail fast. */
  let current: Driver | undefined;
  let connecting: Driver | undefined;
  let probing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Callers of ready() waiting for the first connection. */
  const waiters = new Set<(connected: boolean) => void>();
  const settleWaiters = (connected: boolean) => {
    for (const wake of waiters) wake(connected);
    waiters.clear();
  };

  function start(retries = 0): void {
    if (closed) return;
    const driver = createDriver(target, { connectTimeout, reconnect: backoff, report, ca: options.ca });
    connecting = driver;
    driver.connect().then(
      () => {
        connecting = undefined;
        if (closed) return driver.destroy();
        current = driver;
        settleWaiters(true);
      },
      // Only Cluster and Sentinel give up on a first connection (no node answered): start afresh.
      (error: unknown) => {
        report(error);
        connecting = undefined;
        driver.destroy();
        retryTimer = setTimeout(() => start(retries + 1), backoff(retries));
        retryTimer.unref();
      },
    );
  }

  /**
   * A command timed out: the server may be gone without closing the connection (a failover that
   * moved its address, a frozen host), which TCP notices only after many minutes. Ask it once
   * more; if that goes unanswered too, drop the connection and connect afresh.
   */
  function probe(driver: Driver): void {
    if (probing || driver !== current) return;
    probing = true;
    withTimeout(driver.send(undefined, ['PING']), connectTimeout)
      .catch((error: unknown) => {
        if (!(error instanceof CommandTimeoutError) || driver !== current || closed) return;
        report(new Error('redis stopped answering: reconnecting', { cause: error }));
        current = undefined;
        driver.destroy();
        start();
      })
      .finally(() => {
        probing = false;
      });
  }

  async function run<T>(operation: (driver: Driver) => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError(new Error('redis connection is closed'));
    const driver = current;
    if (!driver) throw new StoreUnavailableError(new Error('redis is not connected (yet)'));
    try {
      return await withTimeout(operation(driver), commandTimeout);
    } catch (error) {
      if (error instanceof CommandTimeoutError) probe(driver);
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(retryTimer);
    // destroy, not a graceful QUIT: the server has drained its requests before closing stores,
    // and a graceful close would wait forever on a Redis that stopped answering.
    for (const driver of [current, connecting]) driver?.destroy();
    current = connecting = undefined;
    settleWaiters(false);
  }

  start();

  return {
    keyPrefix: options.keyPrefix,
    get closed() {
      return closed;
    },

    command: <T>(key: string | undefined, args: RedisCommand) => run((d) => d.send(key, args) as Promise<T>),

    script: <T>(script: LuaScript, keys: readonly string[], args: readonly string[]) =>
      run(async (d) => {
        const key = keys[0];
        try {
          return (await d.send(key, ['EVALSHA', script.sha, String(keys.length), ...keys, ...args])) as T;
        } catch (error) {
          // A restarted or failed-over server has an empty script cache.
          if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
          return (await d.send(key, evalCommand(script, keys, args))) as T;
        }
      }),

    transaction: (groups) =>
      run(async (d) => {
        if (target.mode !== 'cluster') {
          const replies = await d.multi(groups[0]?.key ?? '', groups.flatMap((g) => g.commands));
          let at = 0;
          return groups.map((g) => replies.slice(at, (at += g.commands.length)));
        }
        const results: unknown[][] = [];
        for (const g of groups) results.push(await d.multi(g.key, g.commands));
        return results;
      }),

    ping: async () => {
      await run((d) => d.send(undefined, ['PING']));
    },

    ready(timeoutMs) {
      if (current) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const wake = (connected: boolean) => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(connected);
        };
        const timer = setTimeout(() => wake(false), timeoutMs);
        waiters.add(wake);
      });
    },

    retain: sharedClose(close),

    close,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CommandTimeoutError(ms)), ms);
  });
  // race() subscribes to both, so a late rejection of the loser is never unhandled.
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
