// A Gatehouse gateway for the benchmark, built from the compiled package (packages/gatehouse/dist)
// the way an embedder would: resolveConfig() + createGatehouse() + listen.
//
// Env (set by run.mjs):
//   BENCH_STORE     "memory", "sqlite:<absolute path>" or "redis://…" (session store; local accounts
//                   use the same, or memory when it is Redis, which cannot hold accounts)
//   BENCH_REDIS_PREFIX  redis.keyPrefix (with a Redis store)
//   BENCH_DATA_DIR  a fresh temporary directory (keys.json lives there)
//   BENCH_USERNAME, BENCH_PASSWORD  the one local account to create
//   BENCH_SESSION_MODE  "server" (default) or "cookie" (session.mode: the sealed session in the
//                   cookie, the store as registry and revocation list)
//
// Plain HTTP on loopback (mode "development", listen.tls false) so TLS cost does not blur the
// comparison with the plain-HTTP baseline; logLevel "warn" so there are no per-request logs.
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { exitWithParent, report } from './child.mjs';

// BENCH_GATEHOUSE_DIST: another build of the gateway (a baseline commit's dist/), measured side by side.
const dist = process.env.BENCH_GATEHOUSE_DIST
  ? pathToFileURL(`${process.env.BENCH_GATEHOUSE_DIST.replace(/\/$/, '')}/`)
  : new URL('../../packages/gatehouse/dist/', import.meta.url);
const { resolveConfig } = await import(new URL('config/load.js', dist).href);
const { createGatehouse } = await import(new URL('server.js', dist).href);

exitWithParent();

const store = required('BENCH_STORE');
const dataDir = required('BENCH_DATA_DIR');

// publicOrigin must name the port before the gateway is built: reserve a free loopback port first.
const port = await freePort();
const publicOrigin = `http://127.0.0.1:${port}`;

const config = resolveConfig(
  {
    mode: 'development',
    publicOrigin,
    dataDir,
    listen: { host: '127.0.0.1', port, tls: false },
    session: { store, ...(process.env.BENCH_SESSION_MODE ? { mode: process.env.BENCH_SESSION_MODE } : {}) },
    local: { enabled: true, store: store.startsWith('redis') ? 'memory' : store },
    ...(process.env.BENCH_REDIS_PREFIX ? { redis: { keyPrefix: process.env.BENCH_REDIS_PREFIX } } : {}),
    logLevel: 'warn',
  },
  { baseDir: dataDir, env: {} },
);
const gatehouse = await createGatehouse(config, { https: null });
await gatehouse.local.accounts.add({
  username: required('BENCH_USERNAME'),
  password: required('BENCH_PASSWORD'),
  name: 'Bench User',
  roles: ['user'],
});
await gatehouse.app.listen({ host: '127.0.0.1', port });

// Graceful stop on SIGTERM (closes the SQLite file), bounded so a stuck close cannot hang the run.
process.removeAllListeners('SIGTERM');
process.on('SIGTERM', () => {
  setTimeout(() => process.exit(0), 2000).unref();
  gatehouse.close().finally(() => process.exit(0));
});

report({ port, publicOrigin, store });

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port: p } = server.address();
      server.close(() => resolve(p));
    });
  });
}
