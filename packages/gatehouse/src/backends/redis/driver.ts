import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisTarget } from '../../config/redis-url.js';

/** One Redis command as its words: `['HGET', key, field]`. */
export type RedisCommand = readonly string[];

/**
 * The three node-redis handles (client, Sentinel, Cluster) behind one small surface, configured
 * the same way: reconnect forever, fail commands at once while disconnected, and report every
 * 'error' event (without a listener, one would kill the process).
 */
export interface Driver {
  /** One command; `key` routes it in a Cluster. */
  send(key: string | undefined, args: RedisCommand): Promise<unknown>;
  /** MULTI/EXEC of commands on the slot of `key`. */
  multi(key: string, commands: readonly RedisCommand[]): Promise<unknown[]>;
  /** Resolves once connected (a client retries until then; Cluster and Sentinel may give up). */
  connect(): Promise<void>;
  /** Drops every connection now; pending commands reject. Never throws. */
  destroy(): void;
}

/** How a driver connects and reports. */
export interface DriverOptions {
  connectTimeout: number;
  reconnect: (retries: number) => number;
  report: (error: unknown) => void;
  /** Test-only: the CA (PEM) that TLS trusts instead of Node's store. See `RedisConnectionOptions.ca`. */
  ca?: string | undefined;
}

/** A driver for `target`; nothing connects until {@link Driver.connect}. */
export function createDriver(target: RedisTarget, o: DriverOptions): Driver {
  const credentials = { username: target.username, password: target.password };
  const socket = { connectTimeout: o.connectTimeout, reconnectStrategy: o.reconnect };
  // TLS verifies the server's certificate (chain, then host name or IP against its SAN): Node's
  // defaults, never relaxed here. Node's store plus NODE_EXTRA_CA_CERTS decide which CAs are trusted.
  const tlsSocket = { ...socket, tls: true as const, ...(o.ca !== undefined ? { ca: o.ca } : {}) };
  // Reconnect forever; fail commands at once while disconnected (no offline queue), and bound
  // what can wait for a stalled server: beyond this many, commands fail at once as well.
  const client = {
    ...credentials,
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: target.tls ? tlsSocket : socket,
  };
  // An 'error' event without a listener would kill the process: every handle gets one.
  if (target.mode === 'standalone') {
    const { host, port } = target.endpoint;
    const handle = createClient({
      ...client,
      database: target.database,
      socket: { ...client.socket, host, port },
    }).on('error', o.report);
    return {
      send: (_key, args) => handle.sendCommand([...args]),
      multi: (_key, commands) => exec(commands.reduce((m, c) => m.addCommand([...c]), handle.multi())),
      connect: async () => {
        await handle.connect();
      },
      destroy: () => destroyQuietly(() => handle.destroy()),
    };
  }
  if (target.mode === 'sentinel') {
    const handle = createSentinel({
      name: target.masterName,
      sentinelRootNodes: target.sentinels,
      nodeClientOptions: { ...client, database: target.database },
      // Sentinels get no credentials (they have their own ACLs), but the same transport: over TLS,
      // a Sentinel's answer names the master, and a forged one would lead us to a rogue server.
      sentinelClientOptions: { socket: client.socket },
      // node-redis would retry a first connection 16 times itself, printing each failure with
      // console.log; our own loop above retries instead (with backoff, through onError). A command
      // it cannot place is not retried either: it would outlast commandTimeout anyway.
      maxCommandRediscovers: 0,
    }).on('error', o.report);
    return {
      send: (_key, args) => handle.sendCommand(false, [...args]),
      multi: (_key, commands) => exec(commands.reduce((m, c) => m.addCommand(false, [...c]), handle.multi())),
      connect: async () => {
        await handle.connect();
      },
      destroy: () => destroyQuietly(() => handle.destroy()),
    };
  }
  const handle = createCluster({
    rootNodes: target.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    defaults: client,
  }).on('error', o.report);
  return {
    send: (key, args) => handle.sendCommand(key, false, [...args]),
    multi: (key, commands) => exec(commands.reduce((m, c) => m.addCommand(key, false, [...c]), handle.multi(key))),
    connect: async () => {
      await handle.connect();
    },
    destroy: () => destroyQuietly(() => handle.destroy()),
  };
}

async function exec(multi: { exec(): Promise<unknown> }): Promise<unknown[]> {
  return (await multi.exec()) as unknown[];
}

/** node-redis throws (or rejects) when destroying a handle that never opened or already closed. */
function destroyQuietly(destroy: () => unknown): void {
  try {
    Promise.resolve(destroy()).catch(() => {});
  } catch {
    // Already closed: nothing left to release.
  }
}
