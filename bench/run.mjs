#!/usr/bin/env node
// Benchmark: authenticated GET /auth/session, Gatehouse side by side with plain Fastify answering
// the same JSON, in one run. Reports requests/s, p99 and the ratio to plain Fastify. See
// docs/benchmarks.md.
//
//   npm run bench                 the session set: memory and SQLite stores vs plain Fastify
//   npm run bench:scale           the scale-out set (BENCH_SET=scale): memory and Redis stores vs
//                                 plain Fastify and express + express-session + connect-redis on
//                                 the same Redis; then two Gatehouse instances on one Redis, load
//                                 split, against one instance
//   BENCH_SET=cookie node bench/run.mjs   the cookie-mode set: Gatehouse with session.mode "cookie"
//                                 (memory and SQLite stores) and server mode (memory, SQLite) vs
//                                 plain Fastify and a "same-work" Fastify server (same response
//                                 headers, cookie parse, jose compactDecrypt of a JWE as long as
//                                 the real cookie, one Map lookup: servers/same-work.mjs)
//   BENCH_QUICK=1 npm run bench   smoke run (1 s warm-up, 1 round × 2 s)
//
// Env: BENCH_DURATION (s per round, default 10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50),
//      BENCH_WARMUP (s per server, 5), BENCH_THREADS (wrk threads, 1),
//      BENCH_PIN (default 1: pin the server's JS thread to CPU 0 and wrk to CPU 1 with taskset
//        when there are >= 2 cores; 0: let the OS schedule),
//      BENCH_MAX_OTHER_LOAD (cores, 0.15), BENCH_RETRIES (2), BENCH_QUIET_WAIT (s, 30): before each
//        round wait for the machine to be idle; a round during which other processes used more
//        than BENCH_MAX_OTHER_LOAD cores is measured again, at most BENCH_RETRIES times,
//      BENCH_CPU_PROF (a directory: run the Gatehouse servers with --cpu-prof into it),
//      BENCH_BASELINE_DIST (another build's packages/gatehouse/dist: its memory-store case runs in the
//        same rounds, e.g. the commit before a refactor),
//      BENCH_WRK (path of wrk, /usr/bin/wrk), BENCH_REDIS_URL (redis://127.0.0.1:6379; keys under a
//        per-run prefix, deleted at the end).
// Loopback only; every child process (servers, wrk) is killed at the end, on error and on SIGINT.
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const PKG = join(ROOT, 'packages/gatehouse');
const DIST_ENTRY = join(PKG, 'dist/server.js');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const WRK = process.env.BENCH_WRK ?? '/usr/bin/wrk';

const USERNAME = 'bench';
const PASSWORD = 'bench password, long enough for any policy';
const PATH = '/auth/session';

const SET = process.env.BENCH_SET ?? 'session';
if (!['session', 'scale', 'cookie'].includes(SET)) throw new Error(`BENCH_SET must be "session", "scale" or "cookie", not ${JSON.stringify(SET)}`);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_PREFIX = `gatehouse-bench:${process.pid}:`;

/**
 * The issues' targets: requests/s as a fraction of a baseline's, plain Fastify's (issue 2; issue 5
 * for redis) or, for cookie mode, the same-work server's (servers/same-work.mjs).
 */
const TARGETS = {
  session: { memory: { of: 'plain', min: 0.85 }, sqlite: { of: 'plain', min: 0.7 } },
  scale: { redis: { of: 'plain', min: 0.6 } },
  cookie: {
    memory: { of: 'plain', min: 0.85 },
    sqlite: { of: 'plain', min: 0.7 },
    'cookie-memory': { of: 'samework', min: 0.85 },
    'cookie-sqlite': { of: 'samework', min: 0.85 },
  },
}[SET];
/** Response headers that are per-connection or per-response, not part of what a server chooses to send. */
const TRANSPORT_HEADERS = new Set(['connection', 'keep-alive', 'date', 'content-length', 'transfer-encoding', 'set-cookie']);
/** Issue 5: Gatehouse on Redis against express-session + connect-redis on the same Redis. */
const EXPRESS_TARGET = 2;

// ---------------------------------------------------------------------------------------------
// Settings

const quick = flag('BENCH_QUICK');
const settings = {
  quick,
  duration: int('BENCH_DURATION', quick ? 2 : 10, 1, 600),
  rounds: int('BENCH_ROUNDS', quick ? 1 : 3, 1, 20),
  connections: int('BENCH_CONNECTIONS', 50, 1, 10_000),
  warmup: int('BENCH_WARMUP', quick ? 1 : 5, 0, 120),
  threads: int('BENCH_THREADS', 1, 1, 64),
  pin: process.env.BENCH_PIN === undefined ? true : flag('BENCH_PIN'),
  cpuProf: process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined,
  /** Cores used by other processes during a round above which the round is run again. */
  maxOtherLoad: num('BENCH_MAX_OTHER_LOAD', 0.15),
  retries: int('BENCH_RETRIES', 2, 0, 10),
  /** Seconds to wait, before each measured round, for the machine to be idle. */
  quietWait: int('BENCH_QUIET_WAIT', quick ? 5 : 30, 0, 600),
};
if (settings.threads > settings.connections) settings.threads = settings.connections;
const cores = os.cpus().length;
settings.pin = settings.pin && cores >= 2 && existsSync('/usr/bin/taskset');

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on the way out, whatever the way out is.

const children = new Set();
let tmp;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopAll() {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const child of alive) child.kill('SIGTERM');
  await Promise.all(
    alive.map(
      (child) =>
        new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            res();
          }, 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            res();
          });
        }),
    ),
  );
}

function removeTmp() {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
}

process.on('exit', () => {
  // Last resort (synchronous): nothing may outlive the run.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  removeTmp();
});
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping servers`);
    stopAll().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------

try {
  process.exitCode = await main();
} catch (error) {
  if (!interrupted) console.error(`bench failed: ${error instanceof Error ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  removeTmp();
  if (SET === 'scale') await cleanRedis().catch((error) => console.error(`could not remove the bench keys from Redis: ${error.message}`));
}

async function main() {
  if (!existsSync(WRK)) throw new Error(`wrk not found at ${WRK} (Debian: apt-get install wrk; or set BENCH_WRK)`);
  ensureBuild();
  tmp = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-'));
  if (settings.cpuProf) mkdirSync(settings.cpuProf, { recursive: true });

  log(
    `settings: ${settings.rounds} round(s) × ${settings.duration} s, ${settings.connections} connections, ` +
      `wrk -t${settings.threads}, warm-up ${settings.warmup} s, ${settings.pin ? "server's JS thread on CPU 0, wrk on CPU 1" : 'no CPU pinning'}`,
  );

  // Gatehouse first: the baseline answers a copy of a real Gatehouse body.
  const memory = await startGatehouse('memory', 'memory');
  const bodyFile = join(tmp, 'session-body.json');
  writeFileSync(bodyFile, memory.check.body);
  const plain = await startServer('plain', 'servers/plain.mjs', { BENCH_BODY_FILE: bodyFile });
  plain.headers = {};
  plain.expect = { expectBody: memory.check.body };
  plain.check = await verify(plain, plain.expect);

  const servers = [
    { key: 'plain', label: 'plain Fastify (baseline)', ...plain },
    { key: 'memory', label: SET === 'cookie' ? 'Gatehouse server mode, memory store' : 'Gatehouse, memory store', ...memory },
  ];
  // BENCH_BASELINE_DIST: the same memory-store case from another build (e.g. the commit before a
  // refactor), in the same interleaved rounds, so a regression shows as a ratio, not a guess.
  if (process.env.BENCH_BASELINE_DIST) {
    const base = await startGatehouse('base', 'memory', { dist: resolve(process.env.BENCH_BASELINE_DIST) });
    servers.push({ key: 'base', label: `Gatehouse, memory store, baseline build (${relative(ROOT, resolve(process.env.BENCH_BASELINE_DIST)) || '.'})`, ...base });
  }
  if (SET === 'session') {
    const sqlite = await startGatehouse('sqlite', `sqlite:${join(tmp, 'sqlite', 'bench.db')}`);
    servers.push({ key: 'sqlite', label: 'Gatehouse, SQLite store', ...sqlite });
  } else if (SET === 'cookie') {
    // The list's entry (a copy of plain): cookieServers gives it the real cookie to send.
    servers.push(...(await cookieServers(servers[0])));
  } else {
    const redis = await startGatehouse('redis', REDIS_URL);
    const express = await startServer('express', 'servers/express.mjs', {
      BENCH_BODY_FILE: bodyFile,
      BENCH_REDIS_URL: REDIS_URL,
      BENCH_REDIS_PREFIX: `${REDIS_PREFIX}express:`,
      BENCH_USERNAME: USERNAME,
      BENCH_PASSWORD: PASSWORD,
    });
    express.headers = { cookie: await login(express, 'bench.sid') };
    express.expect = { expectBody: memory.check.body };
    express.check = await verify(express, express.expect);
    servers.push(
      { key: 'redis', label: 'Gatehouse, Redis store', ...redis },
      { key: 'express', label: 'express + express-session + connect-redis', ...express },
    );
  }
  for (const s of servers) {
    log(`${s.key}: 200 on ${s.url}, body ${s.check.bodyBytes} B, response headers ${s.check.headerBytes} B`);
  }

  if (settings.warmup > 0) {
    for (const s of servers) {
      log(`warm-up ${s.key} (${settings.warmup} s)`);
      await s.refresh?.();
      const r = await wrk(s, settings.warmup);
      assertClean(s, r, 'warm-up');
      if (s.refresh) await assertNoReissue(s, 'warm-up');
    }
  }

  const runs = Object.fromEntries(servers.map((s) => [s.key, []]));
  for (let round = 1; round <= settings.rounds; round++) {
    for (const s of servers) {
      // A round that shared the machine with another job is measured again (a bounded number of times).
      let r;
      for (let attempt = 0; attempt <= settings.retries; attempt++) {
        await waitForQuiet();
        await s.refresh?.();
        r = await wrk(s, settings.duration);
        assertClean(s, r, `round ${round}`);
        if (s.refresh) await assertNoReissue(s, `round ${round}`);
        const other = r.cpu?.otherCores ?? 0;
        r.noisy = other > settings.maxOtherLoad;
        log(
          `round ${round}/${settings.rounds} ${s.key.padEnd(6)} ${fmt(r.requestsPerSec, 0).padStart(8)} req/s  p99 ${fmt(r.p99Ms, 2).padStart(6)} ms` +
            (r.cpuUsPerRequest !== null ? `  ${fmt(r.cpuUsPerRequest, 1)} µs CPU/req` : '') +
            (r.cpu ? `  cpu: server ${fmt(r.cpu.serverCores ?? 0, 2)}, wrk ${fmt(r.cpu.wrkCores ?? 0, 2)}, other ${fmt(other, 2)} cores` : '') +
            (r.noisy ? (attempt < settings.retries ? '  (other load: again)' : '  (other load: kept, flagged)') : ''),
        );
        if (!r.noisy) break;
      }
      runs[s.key].push(r);
    }
  }

  // After: every gateway still answers 200 with the user, so no round measured refusals.
  for (const s of servers) await verify(s, s.expect);

  const results = summarize(servers, runs);
  const scale = SET === 'scale' ? await twoInstances(servers.find((s) => s.key === 'redis')) : undefined;
  const report = {
    benchmark: 'authenticated GET /auth/session',
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      rounds: settings.rounds,
      durationSeconds: settings.duration,
      warmupSeconds: settings.warmup,
      connections: settings.connections,
      wrkThreads: settings.threads,
      cpuPinning: settings.pin ? "server's JS thread on CPU 0, wrk on CPU 1 (taskset)" : 'none',
      transport: 'plain HTTP/1.1 on 127.0.0.1 (no TLS), keep-alive',
      gatehouse:
        'mode development, listen.tls false, logLevel warn, local account store = session store' +
        (SET === 'cookie' ? '; cookie mode: a fresh sign-in before every wrk run, which must end without a cookie re-issue' : ''),
      maxOtherLoadCores: settings.maxOtherLoad,
      retries: settings.retries,
      quietWaitSeconds: settings.quietWait,
    },
    results,
    ...(scale ? { versusExpress: versusExpress(results), twoInstances: scale } : {}),
    ...(SET === 'cookie' ? { cookie: cookieFigures(results) } : {}),
  };

  const table = [
    markdownTable(results),
    ...(scale ? ['', scaleTable(report.versusExpress, scale)] : []),
    ...(report.cookie ? ['', cookieLines(report.cookie)] : []),
  ].join('\n');
  console.log(`\n${table}\n`);
  const noisy = results.reduce((n, r) => n + r.rounds.filter((x) => x.noisy).length, 0);
  if (noisy > 0) log(`warning: ${noisy} round(s) ran while other processes used the CPUs (see the per-round lines)`);
  const files = writeReport(report, table);
  log(`wrote ${files.map((f) => relative(ROOT, f)).join(', ')}`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Servers

async function startGatehouse(key, store, options = {}) {
  const dataDir = options.dataDir ?? join(tmp, key);
  mkdirSync(dataDir, { recursive: true });
  const server = await startServer(key, 'servers/gatehouse.mjs', {
    BENCH_STORE: store,
    BENCH_DATA_DIR: dataDir,
    ...(store.startsWith('redis') ? { BENCH_REDIS_PREFIX: REDIS_PREFIX } : {}),
    BENCH_USERNAME: USERNAME,
    BENCH_PASSWORD: PASSWORD,
    ...(options.mode ? { BENCH_SESSION_MODE: options.mode } : {}),
    ...(options.dist ? { BENCH_GATEHOUSE_DIST: options.dist } : {}),
  }, profileArgs(key));
  const cookie = options.cookie ?? (await login(server));
  server.headers = { cookie, 'sec-fetch-site': 'same-origin' };
  server.expect = { expectUser: USERNAME };
  server.check = await verify(server, server.expect);
  if (options.mode === 'cookie') {
    // The cookie is re-sealed and re-sent once a minute (the idle slide) and every revalidateEvery
    // (the re-check): a browser stores the new one, wrk cannot. So every run gets a cookie fresh
    // from a sign-in, and must end without one re-issue (see assertNoReissue).
    // A method (this = the entry in the run's server list, a copy of this object).
    server.refresh = async function refresh() {
      this.headers = { ...this.headers, cookie: await login(this) };
    };
  }
  return server;
}

/**
 * The cookie set's servers besides plain and the memory store: SQLite (server mode), cookie mode on
 * memory and on SQLite, and the same-work server, which copies a real cookie-mode answer (headers,
 * body) and accepts a JWE as long as the real cookie. Plain Fastify is sent the real cookie too
 * (and ignores it), so every server reads requests of the same size and only the work differs.
 */
async function cookieServers(plain) {
  const sqlite = await startGatehouse('sqlite', `sqlite:${join(tmp, 'sqlite', 'bench.db')}`);
  const cookieMemory = await startGatehouse('cookie-memory', 'memory', { mode: 'cookie' });
  const cookieSqlite = await startGatehouse('cookie-sqlite', `sqlite:${join(tmp, 'cookie-sqlite', 'bench.db')}`, { mode: 'cookie' });
  const real = cookieMemory.headers.cookie;
  const parts = real.slice(real.indexOf('=') + 1).split('.');
  if (parts.length !== 5) throw new Error(`cookie-memory: the session cookie is not one compact JWE (chunked?): ${real.length} B`);
  const headersFile = join(tmp, 'cookie-headers.json');
  const bodyFile = join(tmp, 'cookie-body.json');
  writeFileSync(headersFile, JSON.stringify(cookieMemory.check.headers));
  writeFileSync(bodyFile, cookieMemory.check.body);
  const samework = await startServer(
    'samework',
    'servers/same-work.mjs',
    {
      BENCH_BODY_FILE: bodyFile,
      BENCH_HEADERS_FILE: headersFile,
      BENCH_COOKIE_NAME: real.slice(0, real.indexOf('=')),
      BENCH_JWE_HEADER: Buffer.from(parts[0], 'base64url').toString('utf8'),
      BENCH_PLAINTEXT_BYTES: String(Buffer.from(parts[3], 'base64url').length),
    },
    profileArgs('samework'),
  );
  if (samework.ready.cookie.length !== real.length) {
    throw new Error(`samework: its cookie is ${samework.ready.cookie.length} B, the real one ${real.length} B`);
  }
  samework.headers = { cookie: samework.ready.cookie, 'sec-fetch-site': 'same-origin' };
  samework.expect = { expectBody: cookieMemory.check.body, expectHeaders: cookieMemory.check.headers };
  samework.check = await verify(samework, samework.expect);
  plain.headers = { cookie: real, 'sec-fetch-site': 'same-origin' };
  plain.check = await verify(plain, plain.expect);
  return [
    { key: 'sqlite', label: 'Gatehouse server mode, SQLite store', ...sqlite },
    { key: 'samework', label: 'Fastify doing the same work (baseline)', ...samework },
    { key: 'cookie-memory', label: 'Gatehouse cookie mode, memory store', ...cookieMemory },
    { key: 'cookie-sqlite', label: 'Gatehouse cookie mode, SQLite store', ...cookieSqlite },
  ];
}

function profileArgs(key) {
  return settings.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', settings.cpuProf, '--cpu-prof-name', `${key}-${Date.now()}.cpuprofile`] : [];
}

/**
 * Cookie mode: the cookie wrk sent all along still answers without a Set-Cookie after the run.
 * A re-issue depends only on the cookie's age (slide, re-check) and the key ring, so none at the
 * end means none during: every measured answer was a decrypt and a lookup, never a re-seal.
 */
async function assertNoReissue(server, phase) {
  const res = await verify(server, server.expect);
  if (res.setCookie.length > 0) throw new Error(`${server.key} ${phase}: the session cookie was re-issued during the run; the measurement is void`);
}

/** Forks a server script and resolves with its loopback URL once it reports it is listening. */
function startServer(key, script, env, execArgv = []) {
  return new Promise((res, rej) => {
    const child = track(
      fork(join(BENCH_DIR, script), [], {
        cwd: ROOT,
        env: { ...process.env, ...env, NODE_ENV: 'production' },
        execArgv,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
    // Server output (warnings, errors) goes to our stderr, prefixed; stdout stays the report.
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        for (const line of chunk.split('\n')) if (line.trim()) process.stderr.write(`[${key}] ${line}\n`);
      });
    }
    const timer = setTimeout(() => rej(new Error(`${key}: server did not start within 30 s`)), 30_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (message?.type !== 'ready') return rej(new Error(`${key}: unexpected message ${JSON.stringify(message)}`));
      // The JS thread only: V8's helper threads (GC, compiler) started before this and stay free.
      if (settings.pin) taskset(['-p', '-c', '0', String(child.pid)]);
      res({ key, pid: child.pid, port: message.port, ready: message, url: `http://127.0.0.1:${message.port}${PATH}`, origin: `http://127.0.0.1:${message.port}` });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`${key}: server exited before it was ready (code ${code}, signal ${signal})`));
    });
  });
}

function taskset(args) {
  execFileSync('/usr/bin/taskset', args, { stdio: 'ignore' });
}

/** Logs in once over HTTP, as the SPA does, and returns the `name=value` of the session cookie. */
async function login(server, cookieName = '__Host-gatehouse') {
  const payload = JSON.stringify({ username: USERNAME, password: PASSWORD });
  const res = await http(server.port, 'POST', '/auth/login', {
    'content-type': 'application/json',
    origin: server.origin,
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors',
    'x-csrf': '1',
  }, payload);
  if (res.status !== 200) throw new Error(`${server.key}: login answered ${res.status}: ${res.body}`);
  const setCookie = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${cookieName}=`));
  if (!setCookie) throw new Error(`${server.key}: login set no ${cookieName} cookie`);
  return setCookie.split(';', 1)[0];
}

/** The request wrk will repeat must answer 200 with the right body; a benchmark of 401s would be a lie. */
async function verify(server, { expectUser, expectBody, expectHeaders }) {
  const res = await http(server.port, 'GET', PATH, server.headers);
  if (res.status !== 200) throw new Error(`${server.key}: GET ${PATH} answered ${res.status}: ${res.body}`);
  const json = JSON.parse(res.body);
  if (expectUser && json?.user?.username !== expectUser) {
    throw new Error(`${server.key}: GET ${PATH} did not name user ${expectUser}: ${res.body}`);
  }
  if (expectBody && res.body !== expectBody) throw new Error(`${server.key}: body differs from the Gatehouse body it copies`);
  const chosen = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  if (expectHeaders && JSON.stringify(sortedEntries(chosen)) !== JSON.stringify(sortedEntries(expectHeaders))) {
    throw new Error(`${server.key}: response headers differ from the Gatehouse answer they copy: ${JSON.stringify(chosen)}`);
  }
  return {
    status: res.status,
    body: res.body,
    bodyBytes: Buffer.byteLength(res.body),
    headerBytes: res.headerBytes,
    headers: chosen,
    setCookie: [res.headers['set-cookie'] ?? []].flat(),
  };
}

function sortedEntries(object) {
  return Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function http(port, method, path, headers, body) {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 10_000 }, (response) => {
      let data = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        data += chunk;
      });
      response.on('end', () => {
        const raw = response.rawHeaders;
        let headerBytes = 0;
        for (let i = 0; i < raw.length; i += 2) headerBytes += raw[i].length + raw[i + 1].length + 4; // "k: v\r\n"
        res({ status: response.statusCode, headers: response.headers, body: data, headerBytes });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', rej);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// wrk

function wrk(server, seconds, { pin = settings.pin, connections = settings.connections } = {}) {
  const threads = Math.min(settings.threads, connections);
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(server.headers)) args.push('-H', `${name}: ${value}`);
  args.push(server.url);
  const [cmd, argv] = pin ? ['/usr/bin/taskset', ['-c', '1', WRK, ...args]] : [WRK, args];
  return new Promise((res, rej) => {
    const child = track(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const before = cpuSnapshot([server.pid, child.pid]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    // wrk stops on its own after -d; the guard only catches a hung process.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    // Read wrk's CPU time while it is a zombie-to-be: take the snapshot as soon as its output ends.
    let after;
    child.stdout.once('end', () => {
      after = cpuSnapshot([server.pid, child.pid]);
    });
    child.on('error', rej);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return rej(new Error(`wrk exited with ${code ?? signal}: ${err || out}`));
      try {
        const result = parseWrk(out);
        const cpu = cpuUse(before, after ?? cpuSnapshot([server.pid]));
        // The server's CPU time per answered request: less sensitive to other load than req/s.
        const cpuUsPerRequest = cpu?.serverCpuUs != null && result.requests > 0 ? round(cpu.serverCpuUs / result.requests, 1) : null;
        res({ ...result, cpuUsPerRequest, cpu });
      } catch (error) {
        rej(error);
      }
    });
  });
}

/** Waits (at most settings.quietWait seconds) until nothing else on the machine uses the CPUs. */
async function waitForQuiet() {
  const started = Date.now();
  let busy = 0;
  for (let i = 0; i < settings.quietWait; i++) {
    const a = cpuSnapshot([]);
    await new Promise((res) => setTimeout(res, 1000));
    const b = cpuSnapshot([]);
    if (!a || !b || b.total <= a.total) return;
    busy = ((b.total - a.total - (b.idle - a.idle)) / (b.total - a.total)) * cores;
    if (busy <= settings.maxOtherLoad) {
      if (i > 0) log(`machine quiet again after ${Math.round((Date.now() - started) / 1000)} s`);
      return;
    }
    if (i === 0) log(`other load ${fmt(busy, 2)} cores: waiting up to ${settings.quietWait} s for a quiet machine`);
  }
  if (settings.quietWait > 0) log(`machine still busy (${fmt(busy, 2)} cores): measuring anyway`);
}

/**
 * Machine-wide CPU counters and the CPU time of our server and wrk (Linux /proc; null elsewhere).
 * The difference tells how many cores the server and wrk used during a round, and how much
 * went to anything else on the machine: a round that shared the CPUs with another job is noise.
 */
function cpuSnapshot(pids) {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = fields[3] + fields[4];
    const procs = pids.map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
      } catch {
        return null;
      }
    });
    return { total, idle, procs };
  } catch {
    return null;
  }
}

function cpuUse(before, after) {
  if (!before || !after) return null;
  const dt = after.total - before.total;
  if (dt <= 0) return null;
  const cores = (ticks) => round((ticks / dt) * os.cpus().length, 2);
  const server = after.procs[0] !== null && before.procs[0] !== null ? after.procs[0] - before.procs[0] : null;
  const load = after.procs[1] !== undefined && after.procs[1] !== null && before.procs[1] !== null ? after.procs[1] - before.procs[1] : null;
  const busy = dt - (after.idle - before.idle);
  return {
    // /proc counts in clock ticks (USER_HZ, 100/s on Linux): 10 000 µs each.
    serverCpuUs: server === null ? null : server * 10_000,
    serverCores: server === null ? null : cores(server),
    wrkCores: load === null ? null : cores(load),
    otherCores: server === null || load === null ? null : Math.max(0, cores(busy - server - load)),
  };
}

/** The numbers we need from wrk's text report. */
function parseWrk(text) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(text);
  const p50 = /^\s*50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(text);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  if (!rps || !p99 || !p50 || !total) throw new Error(`cannot parse wrk output:\n${text}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: toMs(p50[1], p50[2]),
    p99Ms: toMs(p99[1], p99[2]),
    requests: Number(total[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

function toMs(value, unit) {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function assertClean(server, r, phase) {
  if (r.non2xx > 0) throw new Error(`${server.key} ${phase}: ${r.non2xx} non-2xx/3xx responses; the measurement is void`);
  if (r.socketErrors > 0) throw new Error(`${server.key} ${phase}: ${r.socketErrors} socket errors; the measurement is void`);
  if (r.requests === 0) throw new Error(`${server.key} ${phase}: no requests completed`);
}

// ---------------------------------------------------------------------------------------------
// Scale-out: two instances on one Redis

/**
 * Two Gatehouse processes on one Redis, sharing the key ring (one dataDir) and the cookie made on
 * the first, the load split between them, against the first alone with the same total
 * connections. Nothing is pinned here: the point is to let two processes use both cores.
 */
async function twoInstances(first) {
  const second = await startGatehouse('redis-2', REDIS_URL, { dataDir: join(tmp, 'redis'), cookie: first.headers.cookie });
  if (settings.pin) for (const s of [first, second]) taskset(['-p', '-c', `0-${cores - 1}`, String(s.pid)]);
  log(`two instances: redis-2 on ${second.url} serves the session made on redis (${second.check.status})`);
  const half = Math.max(1, Math.floor(settings.connections / 2));
  const one = [];
  const two = [];
  for (let round = 1; round <= settings.rounds; round++) {
    await waitForQuiet();
    const single = await wrk(first, settings.duration, { pin: false });
    assertClean(first, single, `one instance, round ${round}`);
    one.push(single);
    await waitForQuiet();
    const [a, b] = await Promise.all([
      wrk(first, settings.duration, { pin: false, connections: half }),
      wrk(second, settings.duration, { pin: false, connections: settings.connections - half }),
    ]);
    assertClean(first, a, `two instances, round ${round}`);
    assertClean(second, b, `two instances, round ${round}`);
    two.push({ requestsPerSec: a.requestsPerSec + b.requestsPerSec, p99Ms: Math.max(a.p99Ms, b.p99Ms), split: [a.requestsPerSec, b.requestsPerSec] });
    log(
      `two instances round ${round}/${settings.rounds}: one ${fmt(single.requestsPerSec, 0)} req/s, ` +
        `two ${fmt(a.requestsPerSec + b.requestsPerSec, 0)} req/s (${fmt(a.requestsPerSec, 0)} + ${fmt(b.requestsPerSec, 0)})`,
    );
  }
  await verify(second, { expectUser: USERNAME });
  const oneRps = median(one.map((r) => r.requestsPerSec));
  const twoRps = median(two.map((r) => r.requestsPerSec));
  return {
    connections: settings.connections,
    oneInstance: { requestsPerSec: round(oneRps, 0), p99Ms: round(median(one.map((r) => r.p99Ms)), 3) },
    twoInstances: { requestsPerSec: round(twoRps, 0), p99Ms: round(median(two.map((r) => r.p99Ms)), 3), rounds: two },
    ratio: round(twoRps / oneRps, 3),
  };
}

function versusExpress(results) {
  const redis = results.find((r) => r.server === 'redis');
  const express = results.find((r) => r.server === 'express');
  const ratio = redis.requestsPerSec / express.requestsPerSec;
  return { ratio: round(ratio, 2), target: EXPRESS_TARGET, met: settings.quick ? null : ratio >= EXPRESS_TARGET };
}

function scaleTable(vs, scale) {
  return [
    `Gatehouse (Redis) / express-session + connect-redis: **${fmt(vs.ratio, 2)}×** (target >= ${vs.target}×: ${vs.met === null ? 'n/a (quick)' : vs.met ? 'met' : '**not met**'})`,
    '',
    `| two instances, one Redis (${scale.connections} connections in all) | req/s | p99 ms |`,
    '|---|---:|---:|',
    `| one Gatehouse instance | ${fmt(scale.oneInstance.requestsPerSec, 0)} | ${fmt(scale.oneInstance.p99Ms, 2)} |`,
    `| two instances, load split | ${fmt(scale.twoInstances.requestsPerSec, 0)} | ${fmt(scale.twoInstances.p99Ms, 2)} |`,
    `| ratio | ${fmt(scale.ratio, 2)}× | |`,
  ].join('\n');
}

/** The run's keys in the shared Redis (Gatehouse's and express-session's) are removed at the end. */
async function cleanRedis() {
  const require = createRequire(join(PKG, 'package.json'));
  const { createClient } = require('redis');
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${REDIS_PREFIX}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  await client.close();
}

// ---------------------------------------------------------------------------------------------
// Results

function summarize(servers, runs) {
  const medianRps = (key) => median(runs[key].map((r) => r.requestsPerSec));
  const baseline = medianRps('plain');
  const baselineP99 = median(runs.plain.map((r) => r.p99Ms));
  const sameWork = runs.samework ? medianRps('samework') : undefined;
  return servers.map((s) => {
    const rps = medianRps(s.key);
    const p99 = median(runs[s.key].map((r) => r.p99Ms));
    const target = TARGETS[s.key];
    const ratio = rps / baseline;
    const judged = target === undefined ? undefined : rps / medianRps(target.of);
    // Round by round (server and baseline measured back to back), the median of the ratios: a
    // slow spell of the host that hits one round of both cancels out, which a ratio of medians
    // over rounds measured minutes apart does not.
    const paired = (of) => round(median(runs[s.key].map((r, i) => r.requestsPerSec / runs[of][i].requestsPerSec)), 3);
    return {
      server: s.key,
      label: s.label,
      requestsPerSec: round(rps, 0),
      p50Ms: round(median(runs[s.key].map((r) => r.p50Ms)), 3),
      p99Ms: round(p99, 3),
      ratio: round(ratio, 3),
      ...(sameWork !== undefined ? { ratioToSameWork: round(rps / sameWork, 3) } : {}),
      pairedRatio: paired('plain'),
      ...(sameWork !== undefined ? { pairedRatioToSameWork: paired('samework') } : {}),
      p99Ratio: round(p99 / baselineP99, 2),
      cpuUsPerRequest: medianOrNull(runs[s.key].map((r) => r.cpuUsPerRequest)),
      target: target?.min ?? null,
      targetOf: target?.of ?? null,
      // A smoke run is too short to judge a target.
      met: target === undefined || settings.quick ? null : judged >= target.min,
      requestCookieBytes: s.headers.cookie ? Buffer.byteLength(s.headers.cookie) : 0,
      responseBodyBytes: s.check.bodyBytes,
      responseHeaderBytes: s.check.headerBytes,
      rounds: runs[s.key],
    };
  });
}

function markdownTable(results) {
  const sameWork = results.some((r) => r.ratioToSameWork !== undefined);
  const rows = sameWork
    ? [
        '| server | req/s | p99 ms | server CPU µs/request | ratio to plain Fastify | ratio to same-work | target | met? |',
        '|---|---:|---:|---:|---:|---:|---|:---:|',
      ]
    : ['| server | req/s | p99 ms | ratio to plain Fastify | target | met? | server CPU µs/request |', '|---|---:|---:|---:|---:|:---:|---:|'];
  for (const r of results) {
    const of = r.targetOf === 'samework' ? ' of same-work' : sameWork ? ' of plain' : '';
    const target = r.target === null ? '—' : `>= ${Math.round(r.target * 100)}%${of}`;
    const met = r.met === null ? (r.target !== null && settings.quick ? 'n/a (quick)' : '—') : r.met ? 'yes' : '**no**';
    const cpu = r.cpuUsPerRequest === null ? 'n/a' : fmt(r.cpuUsPerRequest, 1);
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    rows.push(
      sameWork
        ? `| ${r.label} | ${fmt(r.requestsPerSec, 0)} | ${fmt(r.p99Ms, 2)} | ${cpu} | ${pct(r.ratio)} | ${pct(r.ratioToSameWork)} | ${target} | ${met} |`
        : `| ${r.label} | ${fmt(r.requestsPerSec, 0)} | ${fmt(r.p99Ms, 2)} | ${pct(r.ratio)} | ${target} | ${met} | ${cpu} |`,
    );
  }
  return rows.join('\n');
}

/**
 * The cookie set's derived figures: what the same-work server's work costs over plain Fastify
 * (headers + cookie parse + decrypt + lookup, server CPU per request), and Gatehouse cookie mode's
 * cost over the same-work server (everything Gatehouse does beyond that).
 */
function cookieFigures(results) {
  const by = Object.fromEntries(results.map((r) => [r.server, r]));
  const diff = (a, b) => (by[a]?.cpuUsPerRequest == null || by[b]?.cpuUsPerRequest == null ? null : round(by[a].cpuUsPerRequest - by[b].cpuUsPerRequest, 1));
  return {
    sameWorkOverPlainCpuUs: diff('samework', 'plain'),
    cookieMemoryOverSameWorkCpuUs: diff('cookie-memory', 'samework'),
    cookieSqliteOverSameWorkCpuUs: diff('cookie-sqlite', 'samework'),
    cookieMemoryVsServerMemoryCpuUs: diff('cookie-memory', 'memory'),
    cookieBytes: Object.fromEntries(results.map((r) => [r.server, r.requestCookieBytes])),
    pairedRatioToSameWork: Object.fromEntries(results.map((r) => [r.server, r.pairedRatioToSameWork])),
    cpuRatioToSameWork: Object.fromEntries(
      results.map((r) => [r.server, r.cpuUsPerRequest && by.samework?.cpuUsPerRequest ? round(by.samework.cpuUsPerRequest / r.cpuUsPerRequest, 3) : null]),
    ),
  };
}

function cookieLines(c) {
  const us = (v) => (v === null ? 'n/a' : `${fmt(v, 1)} µs`);
  return [
    `Server CPU per request: same-work − plain = ${us(c.sameWorkOverPlainCpuUs)} (headers, cookie parse, JWE decrypt, lookup); ` +
      `cookie mode − same-work = ${us(c.cookieMemoryOverSameWorkCpuUs)} (memory), ${us(c.cookieSqliteOverSameWorkCpuUs)} (SQLite); ` +
      `cookie mode − server mode (memory) = ${us(c.cookieMemoryVsServerMemoryCpuUs)}.`,
    '',
    `Round by round, median of (req/s of the server / req/s of same-work in the same round): ${Object.entries(c.pairedRatioToSameWork)
      .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`)
      .join(', ')}.`,
    '',
    `By CPU (same-work's CPU µs/request / the server's): ${Object.entries(c.cpuRatioToSameWork)
      .map(([k, v]) => `${k} ${v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`}`)
      .join(', ')}.`,
    '',
    `Request cookie (name=value) bytes: ${Object.entries(c.cookieBytes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  ].join('\n');
}

function writeReport(report, table) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const base = join(RESULTS_DIR, `${SET}-${stamp}${settings.quick ? '-quick' : ''}`);
  const m = report.machine;
  const s = report.settings;
  const noisy = report.results.reduce((n, r) => n + r.rounds.filter((x) => x.noisy).length, 0);
  const md = [
    `# Benchmark: ${report.benchmark}`,
    '',
    `Date: ${report.date}${settings.quick ? ' (quick mode: smoke run, not a measurement)' : ''}`,
    '',
    table,
    '',
    'Medians over the rounds; ratio = median req/s of the server / median req/s of plain Fastify' +
      (SET === 'cookie' ? ' (or of the same-work server). ' : '. ') +
      'Server CPU µs/request = CPU time of the server process during a round / requests answered (from /proc).',
    ...(noisy > 0 ? ['', `**${noisy} round(s) ran while other processes used the CPUs: treat this run with suspicion.**`] : []),
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; ${m.totalMemGiB} GiB RAM; ${m.os}`,
    `- Node ${m.node}, Fastify ${m.fastify}, ${m.wrk}`,
    `- Gatehouse commit ${m.gitCommit}${m.gitDirty ? ' (with uncommitted changes)' : ''}`,
    '',
    '## Settings',
    '',
    `- ${s.rounds} interleaved round(s) × ${s.durationSeconds} s per server after a ${s.warmupSeconds} s warm-up each; wrk -t${s.wrkThreads} -c${s.connections} --latency`,
    `- CPU pinning: ${s.cpuPinning}`,
    `- Transport: ${s.transport}`,
    `- Gatehouse: ${s.gatehouse}`,
    '',
    '## Per round',
    '',
    'req/s / p99 ms / CPU cores used by the server / by other processes (a round above ' +
      `${s.maxOtherLoadCores} cores of other load was measured again, up to ${s.retries} times; ! = kept although noisy)`,
    '',
    ...report.results.map(
      (r) =>
        `- ${r.server}: ${r.rounds
          .map((x) => `${fmt(x.requestsPerSec, 0)} / ${fmt(x.p99Ms, 2)} / ${x.cpu ? `${fmt(x.cpu.serverCores ?? 0, 2)} / ${fmt(x.cpu.otherCores ?? 0, 2)}` : 'n/a'}${x.noisy ? ' !' : ''}`)
          .join(', ')}`,
    ),
    '',
    '## Responses',
    '',
    ...report.results.map((r) => `- ${r.server}: body ${r.responseBodyBytes} B, headers ~${r.responseHeaderBytes} B`),
    '',
  ].join('\n');
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  const latest = SET === 'session' ? 'latest' : `latest-${SET}`;
  writeFileSync(join(RESULTS_DIR, `${latest}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${latest}.md`), md);
  return [`${base}.json`, `${base}.md`];
}

function machineInfo() {
  const require = createRequire(join(PKG, 'package.json'));
  const git = (args) => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const wrkVersion = spawnSync(WRK, ['--version'], { encoding: 'utf8' });
  return {
    node: process.version,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores,
    totalMemGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fastify: require('fastify/package.json').version,
    wrk: (wrkVersion.stdout || wrkVersion.stderr || '').split('\n')[0].replace(/\s+Copyright.*$/, '').trim() || 'wrk',
    gitCommit: git(['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--', 'packages']) ?? '') !== '',
  };
}

// ---------------------------------------------------------------------------------------------
// Build

/** The servers import the compiled gateway: build it when missing, warn when it looks stale. */
function ensureBuild() {
  if (!existsSync(DIST_ENTRY)) {
    log('packages/gatehouse/dist is missing: running npm run build');
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0 || !existsSync(DIST_ENTRY)) throw new Error('npm run build failed; fix the build, then run the bench again');
    return;
  }
  const built = statSync(DIST_ENTRY).mtimeMs;
  const newer = newestMtime(join(PKG, 'src'));
  if (newer > built) {
    log('warning: packages/gatehouse/src is newer than dist: run `npm run build` to benchmark the current code');
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianOrNull(values) {
  const known = values.filter((v) => v !== null && v !== undefined);
  return known.length === 0 ? null : round(median(known), 1);
}

function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n, digits) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function log(message) {
  console.error(`[bench] ${message}`);
}

function flag(name) {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function num(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0 (got ${raw})`);
  return n;
}

function int(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/s$/, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max} (got ${raw})`);
  return n;
}
