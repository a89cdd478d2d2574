// trustProxy over real sockets: a client behind the configured proxies sends X-Forwarded-For
// through them, and the gateway's idea of the client address is checked where it matters — the
// X-Forwarded-For an upstream receives (HTTP and WebSocket), the session's recorded address, and
// the per-address sign-in throttle. Every test would fail if a form were silently ignored.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { ORIGIN, PASSWORD, SITE, testConfigInput, testGateway, type TestGateway } from '../helpers/gateway.js';
import { type Echo, startEcho } from '../proxy/echo.js';
import { listen } from '../proxy/setup.js';

/** The client, the proxies' addresses it passed (left to right), then the socket peer 127.0.0.1. */
const CLIENT = '192.0.2.7';
const EDGE = '198.51.100.1';
const INNER = '203.0.113.9';
const CHAIN = `${CLIENT}, ${EDGE}, ${INNER}`;

let echo: Echo;
const running: TestGateway[] = [];

beforeAll(async () => {
  echo = await startEcho();
});
afterAll(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
  await echo.close();
});

async function gateway(trustProxy: GatehouseConfigInput['trustProxy'], overrides: Partial<GatehouseConfigInput> = {}): Promise<{ origin: string }> {
  const gw = await testGateway({
    trustProxy,
    apis: [
      { path: '/api/open', upstream: echo.origin, auth: 'none' },
      { path: '/api/ws', upstream: `${echo.origin}/sockets`, auth: 'none', websocket: true },
    ],
    ...overrides,
  });
  running.push(gw);
  return { origin: await listen(gw) };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(origin: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What the upstream was told the client is. */
async function forwardedFor(origin: string, xff: string): Promise<unknown> {
  const res = await send(origin, '/api/open/whoami', { headers: { 'x-forwarded-for': xff } });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { headers: Record<string, unknown> }).headers['x-forwarded-for'];
}

const SAME_ORIGIN = { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'x-csrf': '1', 'content-type': 'application/json' };

function signIn(origin: string, xff: string, username = 'alice', password = PASSWORD): Promise<Answer> {
  return send(origin, '/auth/login', { method: 'POST', headers: { ...SAME_ORIGIN, 'x-forwarded-for': xff }, body: JSON.stringify({ username, password }) });
}

/** The address the session store recorded for a sign-in through the proxies. */
async function sessionIp(origin: string, xff: string): Promise<unknown> {
  const login = await signIn(origin, xff);
  expect(login.status).toBe(200);
  const cookie = [login.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-gatehouse='))?.split(';', 1)[0] ?? '';
  const list = await send(origin, '/auth/sessions', { headers: { ...SAME_ORIGIN, cookie } });
  expect(list.status).toBe(200);
  return (JSON.parse(list.body) as { sessions: { current: boolean; ip: unknown }[] }).sessions.find((s) => s.current)?.ip;
}

describe('trustProxy: every documented form takes effect', () => {
  const forms: [string, GatehouseConfigInput['trustProxy'], string][] = [
    ['false (no proxy): X-Forwarded-For is ignored, the peer is the client', false, '127.0.0.1'],
    ['a hop count 1: the address the one proxy appended', 1, INNER],
    ['a hop count 2: two proxies in front', 2, EDGE],
    ['a hop count larger than the chain: the left-most entry', 5, CLIENT],
    ['one address "127.0.0.1": the proxy is the peer', '127.0.0.1', INNER],
    ['a string of CIDRs "127.0.0.0/8, 203.0.113.0/24": trusted hops are skipped, nearest first', '127.0.0.0/8, 203.0.113.0/24', EDGE],
    ['a list with a named range ["loopback", "203.0.113.0/24", "198.51.100.0/24"]', ['loopback', '203.0.113.0/24', '198.51.100.0/24'], CLIENT],
    ['an address that is not the peer ("10.0.0.0/8"): a client cannot spoof its address by writing the header', '10.0.0.0/8', '127.0.0.1'],
  ];

  it.each(forms)('OWASP Logging Cheat Sheet (trusted client address) — trustProxy %s: the upstream\'s X-Forwarded-For and the session\'s IP are that client', async (_title, trustProxy, expected) => {
    const { origin } = await gateway(trustProxy);
    expect(await forwardedFor(origin, CHAIN)).toBe(expected);
    expect(await sessionIp(origin, CHAIN)).toBe(expected);
  });

  it('OWASP Logging Cheat Sheet — trustProxy true (development only): the left-most X-Forwarded-For entry', async () => {
    const { origin } = await gateway(true);
    expect(await forwardedFor(origin, CHAIN)).toBe(CLIENT);
  });

  it('OWASP Authentication Cheat Sheet (per-address throttling) — behind one proxy (trustProxy 1), one client\'s failed passwords throttle that client only, not everyone the proxy forwards', async () => {
    const { origin } = await gateway(1, { local: { enabled: true, store: 'memory', throttle: { addressFailures: 3, accountFailures: 100 } } });
    const attacker = '203.0.113.66';
    for (let i = 0; i < 3; i++) expect((await signIn(origin, attacker, 'alice', 'wrong password')).status).toBe(401);
    const throttled = await signIn(origin, attacker, 'bob', PASSWORD);
    expect(throttled.status).toBe(429);
    expect(JSON.parse(throttled.body).error).toBe('login_throttled');
    // Another user behind the same proxy signs in: the proxy's own address was never the key.
    expect((await signIn(origin, '198.51.100.77', 'bob', PASSWORD)).status).toBe(200);
  });

  it('RFC 6455 §4.1 handshake through the proxy — trustProxy 1: a proxied WebSocket upgrade tells the upstream the same client as request.ip', async () => {
    const { origin } = await gateway(1);
    const socket = new WebSocket(`${origin.replace('http', 'ws')}/api/ws/chat`, { headers: { origin: ORIGIN, 'x-forwarded-for': CHAIN } });
    const hello = await new Promise<{ headers: Record<string, unknown> }>((resolve, reject) => {
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.once('error', reject);
    });
    socket.close();
    expect(hello.headers['x-forwarded-for']).toBe(INNER);
  });
});

describe('trustProxy: what a proxy hands on is read as an address, never as text', () => {
  it('RFC 7239 §6 (node identifier = IP[:port]) / OWASP Authentication Cheat Sheet — trustProxy 1 behind a proxy that appends the client\'s port: one client on many source ports is one address to the throttle, the session and the upstream', async () => {
    const { origin } = await gateway(1, { local: { enabled: true, store: 'memory', throttle: { addressFailures: 3, accountFailures: 100 } } });
    expect(await forwardedFor(origin, `${EDGE}, ${CLIENT}:51234`)).toBe(CLIENT);
    expect(await forwardedFor(origin, '[2001:DB8::7]:443')).toBe('2001:db8::7');
    expect(await sessionIp(origin, `${CLIENT}:40000`)).toBe(CLIENT);
    // A new source port per try must not be a new client: the fourth try is throttled.
    for (let port = 50001; port <= 50003; port++) expect((await signIn(origin, `203.0.113.66:${port}`, 'alice', 'wrong password')).status).toBe(401);
    const throttled = await signIn(origin, '203.0.113.66:50004', 'bob', PASSWORD);
    expect(throttled.status).toBe(429);
    expect(JSON.parse(throttled.body).error).toBe('login_throttled');
  });

  it.each([
    ['arbitrary text', '<script>alert(1)</script>'],
    ['a host name', 'attacker.example'],
    ['an address with junk after it', '192.0.2.7 evil'],
  ])('OWASP Logging Cheat Sheet (log injection) — a hop count larger than the chain (trustProxy 2, the client reaches the gateway directly) and %s in X-Forwarded-For: the client is the peer, the text reaches neither the upstream nor the session', async (_title, text) => {
    const { origin } = await gateway(2);
    expect(await forwardedFor(origin, text)).toBe('127.0.0.1');
    expect(await sessionIp(origin, text)).toBe('127.0.0.1');
    // Text left of readable entries is cut with everything to its left: the nearest readable hop wins.
    expect(await forwardedFor(origin, `${CLIENT}, ${text}, ${INNER}`)).toBe(INNER);
  });

  it('OWASP Logging Cheat Sheet — trustProxy 1: a WebSocket upgrade whose proxy appended a port tells the upstream the bare address, as request.ip', async () => {
    const { origin } = await gateway(1);
    const socket = new WebSocket(`${origin.replace('http', 'ws')}/api/ws/chat`, { headers: { origin: ORIGIN, 'x-forwarded-for': `${CLIENT}:6000` } });
    const hello = await new Promise<{ headers: Record<string, unknown> }>((resolve, reject) => {
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.once('error', reject);
    });
    socket.close();
    expect(hello.headers['x-forwarded-for']).toBe(CLIENT);
  });
});

describe('trustProxy: config check refuses a form that would not take effect', () => {
  const problemsOf = (trustProxy: unknown) => {
    try {
      resolveConfig({ ...testConfigInput(), trustProxy }, { baseDir: SITE, env: {} });
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.filter((p) => p.key === 'trustProxy').map((p) => p.message);
    }
  };

  it.each([
    ['a hop count in quotes "1" (proxy-addr would trust the address 0.0.0.1)', '1', /without quotes/],
    ['a negative hop count', -1, /hop count/],
    ['a fractional hop count', 1.5, /hop count/],
    ['a prefix longer than the address', '10.0.0.0/33', /prefix length/],
    ['a /0 prefix (every address: true in disguise)', '0.0.0.0/0', /prefix length/],
    ['a shortened IPv4 form "127.1"', '127.1', /not an IP address/],
    ['a host name in a list', ['10.0.0.1', 'proxy.internal'], /"proxy\.internal" is not an IP address/],
    ['an empty entry', '10.0.0.1,,10.0.0.2', /empty entry/],
  ])('OWASP Logging Cheat Sheet — trustProxy as %s is refused, naming the key and the fix', (_title, value, reason) => {
    const problems = problemsOf(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(reason);
    expect(problems[0]).toMatch(/hop count|addresses/);
  });

  it.each([[1], ['10.0.0.1, 10.0.0.0/8'], [['loopback', 'fd00::/8']], ['10.0.0.0/255.0.0.0'], ['::ffff:10.0.0.1'], [0], ['']])(
    'trustProxy %j is accepted',
    (value) => {
      expect(problemsOf(value)).toEqual([]);
    },
  );
});
