// Benchmark of the API proxy (issue 4), side by side in one run:
//   plain    — Fastify + @fastify/reply-from forwarding GET /api/bench/hello to the upstream, no auth;
//   gatehouse — Gatehouse forwarding the same request on an `auth: "required"`, `token: "internal"`
//               route: session cookie lookup, cross-site check, internal JWT attached (cached per
//               session), header policy, then reply-from;
//   gatehouse, auth none — the same gateway on an `auth: "none"` route: the proxy layer and the
//               gateway's global hooks (security headers, CSRF gate) without session or token.
// Both proxies run as child processes pinned to CPU 0; the upstream (a tiny node:http server) and
// wrk share CPU 1. Rounds are interleaved; the report gives medians and the ratio.
// Usage: npm run build && node bench/proxy.mjs   (needs wrk; BENCH_DURATION, BENCH_ROUNDS)
// Loopback only; every child is killed at the end.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const PATH = '/api/bench/hello';

const role = process.argv[2];
if (role === 'upstream') await upstream();
else if (role === 'plain') await plain(process.argv[3]);
else if (role === 'gatehouse') await gatehouse(process.argv[3]);
else await main();

function child(args, cpu) {
  const c = fork(new URL(import.meta.url).pathname, args, { execArgv: [] });
  process.on('exit', () => c.kill('SIGKILL'));
  const ready = new Promise((resolve, reject) => {
    c.once('message', resolve);
    c.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
  try {
    execFileSync('taskset', ['-cp', String(cpu), String(c.pid)], { stdio: 'ignore' });
  } catch {}
  return { c, ready };
}

async function main() {
  process.on('SIGINT', () => process.exit(130));
  const up = child(['upstream'], 1);
  const { origin: upstreamOrigin } = await up.ready;
  const p = child(['plain', upstreamOrigin], 0);
  const g = child(['gatehouse', upstreamOrigin], 0);
  const [plainReady, gatehouseReady] = await Promise.all([p.ready, g.ready]);
  // CPU time of a process in µs (utime + stime from /proc, in clock ticks of 10 ms): the proxy's own
  // cost per request, which other load on this machine does not change the way it changes req/s.
  const cpuMicros = (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  };
  const wrk = (url, headers, pid) => {
    const before = cpuMicros(pid);
    const args = ['-c', '1', 'wrk', '-t1', '-c50', `-d${duration}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
    const out = execFileSync('taskset', args, { encoding: 'utf8' });
    if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers:\n${out}`);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
    const requests = Number(/(\d+) requests in/.exec(out)[1]);
    const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const cpuPerRequest = (cpuMicros(pid) - before) / requests;
    return { rps, cpuPerRequest, p99ms: Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) };
  };
  const runs = {
    plain: () => wrk(`${plainReady.origin}${PATH}`, [], p.c.pid),
    gatehouse: () => wrk(`${gatehouseReady.origin}${PATH}`, [`cookie: ${gatehouseReady.cookie}`, 'sec-fetch-site: same-origin'], g.c.pid),
    open: () => wrk(`${gatehouseReady.origin}/api/open/hello`, [], g.c.pid),
  };
  // Warm-up (JIT, pools, the token cache), then interleaved rounds.
  runs.plain();
  runs.gatehouse();
  runs.open();
  const results = { plain: [], gatehouse: [], open: [] };
  for (let r = 0; r < rounds; r++) {
    results.plain.push(runs.plain());
    results.gatehouse.push(runs.gatehouse());
    results.open.push(runs.open());
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (xs) => ({ rps: median(xs.map((x) => x.rps)), p99ms: median(xs.map((x) => x.p99ms)), cpu: median(xs.map((x) => x.cpuPerRequest)) });
  const pl = summary(results.plain);
  const gh = summary(results.gatehouse);
  const op = summary(results.open);
  const ratio = gh.rps / pl.rps;
  const cpuRatio = pl.cpu / gh.cpu;
  const md = [
    '# Benchmark: API proxy',
    '',
    `Date: ${new Date().toISOString()}; ${cpus()[0]?.model}, ${cpus().length} cores; Node ${process.version}`,
    '',
    `GET ${PATH} → a node:http upstream answering 60 bytes of JSON. Proxies on CPU 0; wrk and the upstream on CPU 1.`,
    `${rounds} interleaved rounds × ${duration} s, wrk -t1 -c50; medians.`,
    '',
    '| proxy | req/s | p99 ms | ratio | proxy CPU µs / request | ratio (CPU) |',
    '|---|---:|---:|---:|---:|---:|',
    `| Fastify + @fastify/reply-from, no auth | ${Math.round(pl.rps).toLocaleString('en')} | ${pl.p99ms.toFixed(2)} | 100.0% | ${pl.cpu.toFixed(1)} | 100.0% |`,
    `| Gatehouse, auth "none" route (proxy layer + global hooks) | ${Math.round(op.rps).toLocaleString('en')} | ${op.p99ms.toFixed(2)} | ${((op.rps / pl.rps) * 100).toFixed(1)}% | ${op.cpu.toFixed(1)} | ${((pl.cpu / op.cpu) * 100).toFixed(1)}% |`,
    `| **Gatehouse: session + internal token + header policy** | ${Math.round(gh.rps).toLocaleString('en')} | ${gh.p99ms.toFixed(2)} | ${(ratio * 100).toFixed(1)}% | ${gh.cpu.toFixed(1)} | ${(cpuRatio * 100).toFixed(1)}% |`,
    '',
    'ratio (CPU) = plain CPU per request / Gatehouse CPU per request: the throughput ratio the proxy alone would allow when it is the bottleneck; unlike req/s, other load on the machine barely moves it.',
    '',
    `Rounds (req/s): plain ${results.plain.map((x) => Math.round(x.rps)).join(', ')}; gatehouse ${results.gatehouse.map((x) => Math.round(x.rps)).join(', ')}; auth none ${results.open.map((x) => Math.round(x.rps)).join(', ')}. Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    `Target: Gatehouse at least 85% of plain reply-from: **${ratio >= 0.85 ? 'met' : 'not met'}**.`,
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/proxy-latest.md', import.meta.url), md);
  for (const x of [p, g, up]) x.c.kill('SIGTERM');
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function upstream() {
  const { createServer } = await import('node:http');
  const body = JSON.stringify({ ok: true, message: 'hello from the upstream', n: 42 });
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  const port = await freePort();
  server.listen(port, '127.0.0.1', () => process.send({ origin: `http://127.0.0.1:${port}` }));
}

async function plain(upstreamOrigin) {
  const { default: Fastify } = await import('fastify');
  const { default: replyFrom } = await import('@fastify/reply-from');
  const app = Fastify({ logger: false });
  await app.register(replyFrom, { base: upstreamOrigin, undici: { connections: 128, pipelining: 1, keepAliveTimeout: 10_000 }, disableRequestLogging: true });
  app.get('/api/bench/*', (request, reply) => reply.from(request.url.slice('/api/bench'.length)));
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  process.send({ origin: `http://127.0.0.1:${port}` });
}

async function gatehouse(upstreamOrigin) {
  const dist = new URL('../packages/gatehouse/dist/', import.meta.url);
  const { resolveConfig } = await import(new URL('config/load.js', dist).href);
  const { createGatehouse } = await import(new URL('server.js', dist).href);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const gw = await createGatehouse(
    resolveConfig(
      {
        mode: 'development',
        publicOrigin: origin,
        dataDir: `/tmp/gatehouse-bench-proxy-${process.pid}`,
        listen: { host: '127.0.0.1', port, tls: false },
        session: { store: 'memory' },
        local: { enabled: true, store: 'memory' },
        apis: [
          { path: '/api/bench', upstream: upstreamOrigin, auth: 'required', token: 'internal', audience: 'bench-api' },
          { path: '/api/open', upstream: upstreamOrigin, auth: 'none' },
        ],
        logLevel: 'warn',
      },
      { baseDir: '/tmp', env: {} },
    ),
    { https: null },
  );
  await gw.local.accounts.add({ username: 'bench', password: 'bench password 123' });
  await gw.app.listen({ host: '127.0.0.1', port });
  const login = await gw.app.inject({ method: 'POST', url: '/auth/login', headers: { 'x-csrf': '1' }, payload: { username: 'bench', password: 'bench password 123' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0];
  const check = await gw.app.inject({ url: '/api/bench/hello', headers: { cookie } });
  if (check.statusCode !== 200) throw new Error(`gatehouse proxy check: ${check.statusCode} ${check.body}`);
  process.send({ origin, cookie });
}
