// Attack: a browser (or curl) speaks for the gateway by sending the identity and forwarding
// headers an upstream trusts, in every spelling an upstream might read: underscore forms that
// CGI/WSGI/PHP merge with the real name, look-alikes, cloud identity-aware-proxy headers,
// client-certificate and address headers, duplicates in several cases. Over real sockets to a
// real echo upstream that records the raw header lines it received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { messageFor, problemsOf, withPatch } from '../config/helpers.js';
import { login, ORIGIN, SAME_ORIGIN, type TestGateway, testGateway } from '../helpers/gateway.js';
import { type Echo, type Seen, startEcho } from '../proxy/echo.js';
import { listen, type ProxyFixture, proxyFixture, rawRequest, type DevServerFixture, devServerFixture } from '../proxy/setup.js';

/** Every attacker value carries this mark: none may reach an upstream, in any header. */
const MARK = 'attacker';

const NAMES = {
  underscore: ['X_Gatehouse_User', 'x_gatehouse_user', 'X_Forwarded_For', 'X_Forwarded_Proto', 'X_Forwarded_Host', 'Remote_User', 'X_Remote_User', 'X_Auth_Request_User', 'X_Real_IP', 'X.Gatehouse.User', 'X-Gatehouse_User'],
  lookalike: ['X-Gatehouse-User', 'x-gatehouse-user', 'X-Gatehouse-Roles', 'X-User', 'X-User-Id', 'X-Userid', 'X-Username', 'X-Auth-User', 'X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Authenticated-User', 'X-Authenticated-Userid', 'X-Email', 'X-Roles', 'X-Groups', 'X-Remote-User', 'X-Remote-Groups', 'X-Remote-Extra-Scopes', 'Remote-User', 'Remote-Groups', 'Remote-Email', 'X-Forwarded-User', 'X-Forwarded-Email', 'X-Forwarded-Groups', 'X-Forwarded-Preferred-Username', 'X-Forwarded-Access-Token', 'X-Webauth-User', 'Impersonate-User', 'Impersonate-Group', 'X-Consumer-Username', 'X-Credential-Identifier', 'X-Pomerium-Jwt-Assertion', 'X-Authentik-Username', 'Tailscale-User-Login', 'X-Principal', 'X-Identity', 'X-Jwt-Assertion', 'X-Id-Token', 'X-Access-Token', 'X-Userinfo', 'Oidc-Claim-Sub', 'X-Authorization'],
  cloud: ['X-Amzn-Oidc-Data', 'X-Amzn-Oidc-Identity', 'X-Amzn-Oidc-Accesstoken', 'X-Ms-Client-Principal', 'X-Ms-Client-Principal-Name', 'X-Ms-Client-Principal-Id', 'X-Ms-Client-Principal-Idp', 'X-Ms-Token-Aad-Id-Token', 'X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id', 'X-Goog-Iap-Jwt-Assertion', 'X-Serverless-Authorization', 'X-Apigateway-Api-Userinfo', 'X-Endpoint-Api-Userinfo', 'Cf-Access-Authenticated-User-Email', 'Cf-Access-Jwt-Assertion', 'Cf-Access-Client-Id', 'Cf-Connecting-Ip', 'Cf-Connecting-Ipv6'],
  certificate: ['X-Client-Cert', 'X-SSL-Client-Cert', 'X-SSL-Client-Verify', 'X-SSL-Client-S-DN', 'X-Forwarded-Client-Cert', 'Ssl-Client-Cert', 'Ssl-Client-Verify', 'Client-Cert', 'Client-Cert-Chain', 'X-Amzn-Mtls-Clientcert', 'X-Amzn-Mtls-Clientcert-Subject', 'X-ARR-ClientCert', 'X-Client-Verify', 'X-Client-DN', 'X-Tls-Client-Cert'],
  address: ['X-Forwarded-For', 'x-forwarded-for', 'X-FORWARDED-FOR', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Forwarded-Prefix', 'X-Forwarded-Server', 'X-Forwarded-Ssl', 'X-Forwarded-Scheme', 'X-Forwarded', 'Forwarded', 'X-Real-Ip', 'True-Client-Ip', 'X-Original-Forwarded-For', 'X-Original-Host', 'X-Cluster-Client-Ip', 'Client-Ip', 'X-Client-Ip', 'Fastly-Client-Ip', 'X-Azure-ClientIP', 'X-Appengine-User-Ip', 'X-Envoy-External-Address', 'X-Envoy-Internal', 'X-Host', 'Via', 'Front-End-Https', 'X-Url-Scheme', 'CloudFront-Forwarded-Proto', 'CloudFront-Viewer-Address', 'X-Vercel-Forwarded-For', 'Forwarded-For', 'CF-IPCountry'],
  override: ['X-Http-Method-Override', 'X-Http-Method', 'X-Method-Override', 'X-Original-Url', 'X-Original-Uri', 'X-Rewrite-Url'],
  // Next.js trusts these from its proxy: x-middleware-subrequest skips the middleware that checks the session (CVE-2025-29927).
  framework: ['X-Middleware-Subrequest', 'x-middleware-subrequest', 'X-Middleware-Rewrite', 'X-Middleware-Next', 'X-Invoke-Path', 'X-Invoke-Query', 'X-Now-Route-Matches', 'X-Matched-Path'],
} as const;
const ALL_NAMES = Object.values(NAMES).flat();

/** The attack: each name twice (the attacker's copy first, as a WSGI upstream would keep), plus an attacker Authorization. */
const ATTACK: ReadonlyArray<readonly [string, string]> = [
  ...ALL_NAMES.flatMap((name, i) => [[name, `${MARK}-${i}`] as const, [name, `${MARK}-${i}-again`] as const]),
  ['Authorization', `Bearer ${MARK}`],
];

/** Application headers that must keep flowing by default. */
const APP: Readonly<Record<string, string>> = {
  'X-Request-Id': 'req-42',
  'Idempotency-Key': 'idem-7',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  tracestate: 'congo=t61rcWkgMzE',
  baggage: 'userId=alice-not-an-identity-header',
  Accept: 'application/json',
  'Accept-Language': 'fr-CH',
  'If-None-Match': '"v1"',
  Range: 'bytes=0-10',
  'X-App-Flavour': 'vanilla',
  'X-Middleware-Prefetch': '1',
  'User-Agent': 'browser/1.0',
};

/** Raw header lines → lower-case name → values, as the upstream received them. */
function received(seen: Seen): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = (seen.rawHeaders[i] as string).toLowerCase();
    out.set(name, [...(out.get(name) ?? []), seen.rawHeaders[i + 1] as string]);
  }
  return out;
}

/** None of the attacker's values, no invalid name, and exactly one gateway value of each gateway header. */
function expectOnlyGatewayIdentity(seen: Seen, gateway: Record<string, string | RegExp>): void {
  const lines = received(seen);
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const [name, value] = [seen.rawHeaders[i] as string, seen.rawHeaders[i + 1] as string];
    expect(value.toLowerCase(), `${name}: ${value}`).not.toContain(MARK);
    expect(name, 'header names reach upstreams as letters, digits and "-" only').toMatch(/^[A-Za-z0-9-]+$/);
  }
  for (const name of ALL_NAMES) {
    const lower = name.toLowerCase();
    if (lower in gateway) continue;
    expect(lines.get(lower), name).toBeUndefined();
  }
  for (const [name, value] of Object.entries(gateway)) {
    const values = lines.get(name);
    expect(values, `${name}: exactly one value, the gateway's`).toHaveLength(1);
    if (typeof value === 'string') expect(values?.[0], name).toBe(value);
    else expect(values?.[0], name).toMatch(value);
  }
}

const FORWARDED_BY_GATEWAY = { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gatehouse.test' };

let f: ProxyFixture;
let origin: string;
let cookie: string;

beforeAll(async () => {
  f = await proxyFixture({}, (echoOrigin) => [
    {
      path: '/api/strict',
      upstream: echoOrigin,
      auth: 'required',
      token: 'internal',
      audience: 'strict-api',
      websocket: true,
      forwardHeaders: ['X-Request-Id', 'traceparent', 'Content-Type'],
    },
  ]);
  origin = await listen(f.gw);
  cookie = await login(f.gw, 'alice');
});
afterAll(() => f.close());

async function attack(target: string, extra: Record<string, string> = {}, method = 'GET', body = ''): Promise<Seen> {
  const echo = f.echo;
  const before = echo.seen.length;
  const headers: (readonly [string, string])[] = [...ATTACK, ...Object.entries({ ...SAME_ORIGIN, ...APP, cookie: `${cookie}; theme=dark`, ...extra })];
  const res = await rawRequest(origin, target, headers, method, body);
  expect(res.status, res.body).toBe(200);
  const seen = echo.seen.slice(before);
  expect(seen).toHaveLength(1);
  return seen[0] as Seen;
}

describe('default policy: dropped families (OWASP ASVS 5.0 V4.1.3)', () => {
  it('OWASP ASVS 5.0 V4.1.3: no underscore, look-alike, cloud, client-certificate, address or override header of the client reaches the upstream; the gateway\'s identity, token and X-Forwarded-* arrive once', async () => {
    const seen = await attack('/api/orders/7');
    const alice = await f.gw.inject({ url: '/auth/session', headers: { cookie } });
    const userId = (JSON.parse(alice.body) as { user: { id: string } }).user.id;
    expectOnlyGatewayIdentity(seen, { ...FORWARDED_BY_GATEWAY, 'x-gatehouse-user': userId, authorization: /^Bearer eyJ/ });
  });

  it('OWASP ASVS 5.0 V4.1.3: on a route without a session (auth "none") the upstream gets no identity header at all, and only the gateway\'s X-Forwarded-*', async () => {
    const seen = await attack('/api/open/x');
    expectOnlyGatewayIdentity(seen, FORWARDED_BY_GATEWAY);
    expect(received(seen).get('x-gatehouse-user')).toBeUndefined();
    expect(received(seen).get('authorization')).toBeUndefined();
  });

  it('OWASP ASVS 5.0 V4.1.3: custom application headers (X-Request-Id, Idempotency-Key, traceparent, tracestate, baggage, Accept*, If-*, Range, User-Agent) keep flowing by default', async () => {
    const seen = await attack('/api/open/app');
    const lines = received(seen);
    for (const [name, value] of Object.entries(APP)) expect(lines.get(name.toLowerCase()), name).toEqual([value]);
  });

  it('OWASP ASVS 5.0 V4.1.3: a body keeps its framing and content headers (Content-Type, Content-Length) through the policy', async () => {
    const seen = await attack('/api/open/post', { 'content-type': 'application/json', 'content-length': '11' }, 'POST', '{"a":"bcd"}');
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('{"a":"bcd"}');
    expect(received(seen).get('content-type')).toEqual(['application/json']);
    expect(received(seen).get('content-length')).toEqual(['11']);
  });
});

describe('allowlist mode: apis[].forwardHeaders (OWASP ASVS 5.0 V4.1.3)', () => {
  it('OWASP ASVS 5.0 V4.1.3: only the listed request headers and the gateway\'s own reach the upstream', async () => {
    const seen = await attack('/api/strict/x');
    const names = new Set(received(seen).keys());
    // What the gateway sets (identity, token, X-Forwarded-*), the listed names, and what the HTTP client writes itself.
    const allowed = new Set(['x-request-id', 'traceparent', 'content-type', 'authorization', 'x-gatehouse-user', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host', 'connection', 'content-length']);
    expect([...names].filter((n) => !allowed.has(n))).toEqual([]);
    expect(received(seen).get('x-request-id')).toEqual(['req-42']);
    expect(received(seen).get('traceparent')).toEqual([APP.traceparent]);
    expect(received(seen).get('idempotency-key'), 'not listed').toBeUndefined();
    expectOnlyGatewayIdentity(seen, { ...FORWARDED_BY_GATEWAY, 'x-gatehouse-user': /.+/, authorization: /^Bearer eyJ/ });
  });

  it('OWASP ASVS 5.0 V4.1.3: config check refuses an allowlist naming a header the gateway owns or an unsafe one, naming the key', async () => {
    const bad = ['X-Forwarded-For', 'X_Request_Id', 'X-User', 'Cookie', 'Connection', 'Authorization', 'X-Amzn-Oidc-Data', 'Forwarded', 'X-Gatehouse-User', 'X-SSL-Client-Cert'];
    const problems = problemsOf(withPatch({ apis: [{ path: '/api/x', upstream: 'http://127.0.0.1:1', auth: 'none', forwardHeaders: ['X-Request-Id', ...bad] }] }));
    const keys = problems.map((p) => p.key);
    bad.forEach((name, j) => expect(keys, name).toContain(`apis[0].forwardHeaders[${j + 1}]`));
    expect(keys).not.toContain('apis[0].forwardHeaders[0]');
    expect(messageFor(problems, 'apis[0].forwardHeaders[4]')).toMatch(/forwardCookies/);
    expect(messageFor(problems, 'apis[0].forwardHeaders[3]')).toMatch(/identity header/);
  });
});

describe('WebSocket upgrades (OWASP ASVS 5.0 V4.1.3)', () => {
  /** Node's client refuses names with "." but sends "_" and mixed case: the rest of the attack goes as it is. */
  const wsAttack = Object.fromEntries(ALL_NAMES.filter((n) => !n.includes('.')).map((n, i) => [n, `${MARK}-${i}`]));

  async function upgrade(path: string): Promise<Seen> {
    const before = f.echo.seen.length;
    const socket = new WebSocket(`${origin.replace('http', 'ws')}${path}`, {
      headers: { ...wsAttack, ...APP, authorization: `Bearer ${MARK}`, origin: ORIGIN, cookie },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve());
      socket.once('error', reject);
    });
    socket.close();
    const seen = f.echo.seen.slice(before).filter((s) => s.method === 'WEBSOCKET');
    expect(seen).toHaveLength(1);
    return seen[0] as Seen;
  }

  it('OWASP ASVS 5.0 V4.1.3: the upgrade to the upstream carries none of the client\'s identity or forwarding headers, and the gateway\'s once', async () => {
    const seen = await upgrade('/api/ws/chat');
    expectOnlyGatewayIdentity(seen, { ...FORWARDED_BY_GATEWAY, 'x-gatehouse-user': /.+/, authorization: /^Bearer eyJ/ });
    expect(received(seen).get('x-request-id')).toEqual(['req-42']);
  });

  it('OWASP ASVS 5.0 V4.1.3: an allowlist route applies its allowlist to upgrades too', async () => {
    const seen = await upgrade('/api/strict/live');
    const lines = received(seen);
    expect(lines.get('x-request-id')).toEqual(['req-42']);
    expect(lines.get('idempotency-key')).toBeUndefined();
    expect(lines.get('accept-language')).toBeUndefined();
    expectOnlyGatewayIdentity(seen, { ...FORWARDED_BY_GATEWAY, 'x-gatehouse-user': /.+/, authorization: /^Bearer eyJ/ });
  });
});

describe('gatehouse dev: the dev-server upstream (OWASP ASVS 5.0 V4.1.3)', () => {
  let fixture: DevServerFixture;
  beforeAll(async () => {
    fixture = await devServerFixture();
  });
  afterAll(() => fixture.close());

  it('OWASP ASVS 5.0 V4.1.3: page requests to the dev server carry none of the client\'s identity or forwarding headers', async () => {
    const before = fixture.dev.seen.length;
    const res = await rawRequest(fixture.origin, '/dashboard', [...ATTACK, ...Object.entries(APP)]);
    expect(res.status).toBe(200);
    const seen = fixture.dev.seen.slice(before);
    expect(seen).toHaveLength(1);
    expectOnlyGatewayIdentity(seen[0] as Seen, FORWARDED_BY_GATEWAY);
    expect(received(seen[0] as Seen).get('x-request-id')).toEqual(['req-42']);
  });

  it('OWASP ASVS 5.0 V4.1.3: the dev server\'s WebSocket (HMR) upgrade carries none of them either', async () => {
    const before = fixture.dev.seen.length;
    const headers = Object.fromEntries(ALL_NAMES.filter((n) => !n.includes('.')).map((n, i) => [n, `${MARK}-${i}`]));
    const socket = new WebSocket(`${fixture.origin.replace('http', 'ws')}/`, ['vite-hmr'], { headers: { ...headers, origin: ORIGIN } });
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve());
      socket.once('error', reject);
    });
    socket.close();
    const seen = fixture.dev.seen.slice(before).filter((s) => s.method === 'WEBSOCKET');
    expect(seen).toHaveLength(1);
    expectOnlyGatewayIdentity(seen[0] as Seen, FORWARDED_BY_GATEWAY);
  });
});
