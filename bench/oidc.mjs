// Benchmark of federated sessions (issue 3), side by side in one run:
//  1. per-operation latency against the in-process oidc-provider: the callback (code exchange +
//     ID token validation + session creation) and a token refresh;
//  2. authenticated GET /auth/session throughput with an OIDC session vs a local session on the
//     same gateway: the hot path must not get slower for federated sessions (ratio ~1.0, ±5%).
// Usage: npm run build && node bench/oidc.mjs   (needs wrk; BENCH_DURATION, BENCH_ROUNDS, BENCH_OPS)
// Loopback only; the child server is killed at the end.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const ops = Number(process.env.BENCH_OPS ?? 40);

if (process.argv[2] === 'server') await server();
else await main();

async function main() {
  const child = fork(new URL(import.meta.url).pathname, ['server'], { env: { ...process.env, BENCH_OPS: String(ops) }, execArgv: [] });
  const cleanup = () => child.kill('SIGKILL');
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  const ready = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  try {
    execFileSync('taskset', ['-cp', '0', String(child.pid)], { stdio: 'ignore' });
  } catch {}
  const wrk = (cookie) => {
    const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c50', `-d${duration}s`, '--latency', '-H', `cookie: ${cookie}`, '-H', 'sec-fetch-site: same-origin', `${ready.origin}/auth/session`], { encoding: 'utf8' });
    if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers:\n${out}`);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
    const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const p99ms = Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1);
    return { rps, p99ms };
  };
  wrk(ready.localCookie);
  wrk(ready.oidcCookie);
  const results = { local: [], oidc: [] };
  for (let r = 0; r < rounds; r++) {
    results.local.push(wrk(ready.localCookie));
    results.oidc.push(wrk(ready.oidcCookie));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const local = { rps: median(results.local.map((x) => x.rps)), p99ms: median(results.local.map((x) => x.p99ms)) };
  const oidc = { rps: median(results.oidc.map((x) => x.rps)), p99ms: median(results.oidc.map((x) => x.p99ms)) };
  const ratio = oidc.rps / local.rps;
  const md = [
    '# Benchmark: federated sessions',
    '',
    `Date: ${new Date().toISOString()}; ${cpus()[0]?.model}, ${cpus().length} cores; Node ${process.version}`,
    '',
    `## Per operation (in-process oidc-provider on loopback, ${ops} sequential operations)`,
    '',
    '| operation | median ms | p95 ms |',
    '|---|---:|---:|',
    `| callback: code exchange + ID token validation + new session | ${ready.callback.median.toFixed(2)} | ${ready.callback.p95.toFixed(2)} |`,
    `| token refresh (refresh_token grant, rotation, re-seal, store) | ${ready.refresh.median.toFixed(2)} | ${ready.refresh.p95.toFixed(2)} |`,
    '',
    `## Authenticated GET /auth/session, same gateway (memory store), ${rounds} interleaved rounds × ${duration} s, wrk -t1 -c50`,
    '',
    '| session | req/s | p99 ms | ratio to local |',
    '|---|---:|---:|---:|',
    `| local account | ${Math.round(local.rps).toLocaleString('en')} | ${local.p99ms.toFixed(2)} | 100.0% |`,
    `| OpenID Connect | ${Math.round(oidc.rps).toLocaleString('en')} | ${oidc.p99ms.toFixed(2)} | ${(ratio * 100).toFixed(1)}% |`,
    '',
    `Target: the OIDC session within ±5% of the local one: **${Math.abs(ratio - 1) <= 0.05 ? 'met' : 'not met'}**.`,
    '',
  ].join('\n');
  console.log(md);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/oidc-latest.md', import.meta.url), md);
  child.kill('SIGTERM');
}

async function server() {
  const dist = new URL('../packages/gatehouse/dist/', import.meta.url);
  const { startDemoProvider } = await import(new URL('demo/provider.js', dist).href);
  const { resolveConfig } = await import(new URL('config/load.js', dist).href);
  const { createGatehouse } = await import(new URL('server.js', dist).href);
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  const secret = 'bench-client-secret-0123456789abcdef';
  const makeGateway = async (idp, name) =>
    createGatehouse(
      resolveConfig(
        {
          mode: 'development',
          publicOrigin: origin,
          dataDir: `/tmp/gatehouse-bench-oidc-${process.pid}-${name}`,
          listen: { host: '127.0.0.1', port, tls: false },
          session: { store: 'memory' },
          local: { enabled: true, store: 'memory' },
          providers: [{ id: 'bench', issuer: idp.issuer, clientId: 'bench', clientSecret: secret, allowHttpIssuer: true, scopes: ['openid', 'profile', 'email', 'offline_access'] }],
          logLevel: 'warn',
        },
        { baseDir: '/tmp', env: {} },
      ),
      { https: null },
    );
  const providerFor = (ttl) =>
    startDemoProvider({ clientId: 'bench', clientSecret: secret, redirectUris: [`${origin}/auth/callback/bench`], postLogoutRedirectUris: [`${origin}/`], accounts: [{ sub: 'ada', name: 'Ada' }], accessTokenTtl: ttl });

  const timed = async (fn) => {
    const t = process.hrtime.bigint();
    const result = await fn();
    return [Number(process.hrtime.bigint() - t) / 1e6, result];
  };
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] };
  };

  // 1. Callback and refresh latency (a gateway whose provider issues 30 s tokens: always refreshed).
  const shortIdp = await providerFor(30);
  const short = await makeGateway(shortIdp, 'short');
  await short.app.ready();
  const callbacks = [];
  let cookie;
  for (let i = 0; i < ops; i++) {
    const { back, tx } = await authorize(short);
    const [ms, res] = await timed(() => short.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie: tx } }));
    if (res.statusCode !== 303) throw new Error(`callback ${res.statusCode} ${res.body}`);
    callbacks.push(ms);
    cookie = String(res.headers['set-cookie'].find((c) => c.startsWith('__Host-gatehouse='))).split(';')[0];
  }
  const refreshes = [];
  for (let i = 0; i < ops; i++) {
    const [ms, res] = await timed(() => short.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie } }));
    if (res.statusCode !== 200) throw new Error(`refresh ${res.statusCode} ${res.body}`);
    refreshes.push(ms);
  }
  await short.close();
  await shortIdp.close();

  // 2. Throughput: one gateway, a local session and an OIDC session with a long-lived token.
  const idp = await providerFor(3600);
  const gateway = await makeGateway(idp, 'long');
  await gateway.local.accounts.add({ username: 'bench', password: 'bench password 123' });
  await gateway.app.listen({ host: '127.0.0.1', port });
  const login = await gateway.app.inject({ method: 'POST', url: '/auth/login', headers: { 'x-csrf': '1' }, payload: { username: 'bench', password: 'bench password 123' } });
  const localCookie = String(login.headers['set-cookie']).split(';')[0];
  const { back, tx } = await authorize(gateway);
  const cb = await gateway.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie: tx } });
  const oidcCookie = String(cb.headers['set-cookie'].find((c) => c.startsWith('__Host-gatehouse='))).split(';')[0];
  process.send({ origin, localCookie, oidcCookie, callback: stats(callbacks), refresh: stats(refreshes) });

  async function authorize(gw) {
    const start = await gw.app.inject({ method: 'GET', url: '/auth/login?provider=bench', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    const tx = String(start.headers['set-cookie']).split(';')[0];
    const jar = new Map();
    const header = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const keep = (res) => {
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair.indexOf('=');
        jar.set(pair.slice(0, i), pair.slice(i + 1));
      }
    };
    let url = start.headers.location;
    for (let step = 0; step < 10; step++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: header() } });
      keep(res);
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location'), url);
        if (next.origin === origin) return { back: next, tx };
        url = next.toString();
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)[1];
      const submit = await fetch(new URL(action, url), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(prompt === 'login' ? { prompt, login: 'ada', password: 'x' } : { prompt }),
      });
      keep(submit);
      url = new URL(submit.headers.get('location'), url).toString();
    }
    throw new Error('too many redirects');
  }
}
