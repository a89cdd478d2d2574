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
import { generate } from 'selfsigned';

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

/**
 * A private CA and a server certificate it signed (for localhost, 127.0.0.1 and ::1), as PEM files
 * in a temp directory of their own, for redis-server's TLS options.
 */
export interface TestTls {
  /** The CA certificate (PEM): what a client must trust. */
  ca: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** redis-server options for these files (TLS ports are added separately). Clients need no certificate. */
  serverArgs: string[];
  /** Removes the directory. */
  remove(): void;
}

/** Makes a CA (named `caName`) and a server certificate signed by it. */
export async function makeTestTls(caName = 'Gatehouse test Redis CA'): Promise<TestTls> {
  const validity = { notBeforeDate: new Date(Date.now() - 60_000), notAfterDate: new Date(Date.now() + 86_400_000) };
  const ca = await generate([{ name: 'commonName', value: caName }], {
    ...validity,
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...validity,
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      // clientAuth too: a Sentinel presents this certificate when it connects to the master.
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-tls-'));
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  writeFileSync(caFile, ca.cert);
  writeFileSync(certFile, server.cert);
  writeFileSync(keyFile, server.private, { mode: 0o600 });
  return {
    ca: ca.cert,
    caFile,
    certFile,
    keyFile,
    serverArgs: ['--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RedisProcess {
  port: number;
  /** The TLS port, when started with TLS (the plain `port` stays open for redis-cli). */
  tlsPort?: number;
  /** `redis://` on the plain port, or `rediss://` on the TLS port when started with TLS. */
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

/**
 * Starts a redis-server of our own on a free port (no persistence unless asked by shutdownSaving).
 * With `tls`, it also listens with TLS on a second free port.
 */
export async function startRedisServer(extraArgs: string[] = [], port?: number, tls?: TestTls): Promise<RedisProcess> {
  const p = port ?? (await freePort());
  const tlsPort = tls ? await freePort() : undefined;
  const tlsArgs = tls ? ['--tls-port', String(tlsPort), ...tls.serverArgs] : [];
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...tlsArgs, ...extraArgs];
    child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    await until(async () => (await cli(p, 'PING')) === 'PONG', 10_000, `redis-server on port ${p}`);
  }

  function signal(name: NodeJS.Signals): void {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, name);
  }

  await start();
  return {
    port: p,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    url: tlsPort !== undefined ? `rediss://127.0.0.1:${tlsPort}` : `redis://127.0.0.1:${p}`,
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

/**
 * A three-master Redis Cluster of our own (no replicas). With `tls`, the nodes talk to each other
 * and to clients over TLS (`tls-cluster`), and the URL names their TLS ports.
 */
export async function startRedisCluster(tls?: TestTls): Promise<{ nodes: RedisProcess[]; url: string; stop(): Promise<void> }> {
  const nodes: RedisProcess[] = [];
  const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
  const port = (n: RedisProcess) => (tls ? n.tlsPort : n.port);
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRedisServer(tls ? [...clusterArgs, '--tls-cluster', 'yes'] : clusterArgs, undefined, tls));
    }
    const cliTls = tls ? ['--tls', '--cacert', tls.caFile] : [];
    await run(REDIS_CLI, [...cliTls, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${port(n)}`), '--cluster-yes'], { timeout: 20_000 });
    for (const node of nodes) {
      await until(async () => (await cli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 15_000, 'cluster_state:ok');
    }
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes,
    url: `${tls ? 'rediss' : 'redis'}-cluster://${nodes.map((n) => `127.0.0.1:${port(n)}`).join(',')}`,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/**
 * A master and one Sentinel watching it (redis-server in sentinel mode; there is no redis-sentinel
 * binary here). With `tls`, the Sentinel watches the master's TLS port over TLS
 * (`tls-replication`), and the URL names the Sentinel's TLS port.
 */
export async function startRedisSentinel(
  masterName = 'gatehouse',
  tls?: TestTls,
): Promise<{ master: RedisProcess; sentinel: ChildProcess; url: string; stop(): Promise<void> }> {
  const master = await startRedisServer([], undefined, tls);
  const masterPort = tls ? (master.tlsPort as number) : master.port;
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  const tlsConf = tls
    ? `tls-port ${tlsPort}\ntls-cert-file ${tls.certFile}\ntls-key-file ${tls.keyFile}\ntls-ca-cert-file ${tls.caFile}\ntls-auth-clients no\ntls-replication yes\n`
    : '';
  // Sentinel rewrites its config file, so it must be a writable file of its own.
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${tlsConf}sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1\n`);
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
      async () => (await cli(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)).includes(String(masterPort)),
      10_000,
      'sentinel to know the master',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const url = tls ? `rediss-sentinel://127.0.0.1:${tlsPort}/${masterName}` : `redis-sentinel://127.0.0.1:${port}/${masterName}`;
  return { master, sentinel, url, stop };
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
