/**
 * Private Redis processes for tests that must stop, freeze or restart their Redis (outage
 * tests) or need another topology (Cluster, Sentinel). The machine's shared Redis on 6379 is never
 * touched: each server here is our own child process on a free port, in its own temp directory,
 * and is ended by its PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';

const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
const run = promisify(execFile);

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` until it returns true; throws after `timeoutMs`. For waiting on processes, not on logic. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not yet: keep polling.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One redis-cli command against a local port; its stdout, trimmed. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 });
  return stdout.trim();
}

export interface RedisProcess {
  port: number;
  url: string;
  readonly pid: number;
  /** Freeze the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
  /** Save the data to disk and exit (SHUTDOWN SAVE), so {@link start} brings it back with the data. */
  shutdownSaving(): Promise<void>;
  /** Start (again) on the same port and directory. */
  start(): Promise<void>;
  /** Kill (SIGKILL) and remove the directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a redis-server of our own on a free port (no persistence unless asked by shutdownSaving). */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<RedisProcess> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs];
    child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    await until(async () => (await cli(p, 'PING')) === 'PONG', 10_000, `redis-server on port ${p}`);
  }

  function signal(name: NodeJS.Signals): void {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, name);
  }

  await start();
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    get pid() {
      return child?.pid ?? -1;
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async shutdownSaving() {
      const exited = child ? new Promise((resolve) => child?.once('exit', resolve)) : Promise.resolve();
      await cli(p, 'SHUTDOWN', 'SAVE').catch(() => {});
      await exited;
    },
    start,
    async stop() {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((resolve) => c.once('exit', resolve));
        // SIGKILL ends a frozen (SIGSTOPped) process too.
        process.kill(c.pid as number, 'SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A three-master Redis Cluster of our own (no replicas). */
export async function startRedisCluster(): Promise<{ nodes: RedisProcess[]; url: string; stop(): Promise<void> }> {
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    }
    await run(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'], { timeout: 20_000 });
    for (const node of nodes) {
      await until(async () => (await cli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 15_000, 'cluster_state:ok');
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes,
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A master and one Sentinel watching it (redis-server in sentinel mode; there is no redis-sentinel binary here). */
export async function startRedisSentinel(masterName = 'gatehouse'): Promise<{ master: RedisProcess; sentinel: ChildProcess; url: string; stop(): Promise<void> }> {
  const master = await startRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it must be a writable file of its own.
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} 127.0.0.1 ${master.port} 1\n`);
  const sentinel = spawn(REDIS_SERVER, [conf, '--sentinel'], { stdio: 'ignore' });
  const stop = async () => {
    if (sentinel.exitCode === null && sentinel.signalCode === null) {
      const exited = new Promise((resolve) => sentinel.once('exit', resolve));
      process.kill(sentinel.pid as number, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await master.stop();
  };
  try {
    await until(
      async () => (await cli(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)).includes(String(master.port)),
      10_000,
      'sentinel to know the master',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { master, sentinel, url: `redis-sentinel://127.0.0.1:${port}/${masterName}`, stop };
}

/** Deletes every key under `prefix` (SCAN, never KEYS) on a standalone Redis. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    let deleted = 0;
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
    return deleted;
  } finally {
    client.destroy();
  }
}
