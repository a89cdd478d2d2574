import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatehouse } from '../../src/start.js';
import { resolveConfig } from '../../src/config/load.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { auditMetrics } from '../../src/metrics/index.js';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.js';
import type { Gatehouse } from '../../src/server.js';
import { PASSWORD, SAME_ORIGIN, SITE, login, testClock, testConfigInput, testGateway, type TestGateway } from '../helpers/gateway.js';
import { federatedLogin, oidcHarness, type OidcHarness } from '../helpers/oidc.js';
import { ExpositionError, type Family, parseExposition, sampleSum, sampleValue } from '../helpers/prometheus.js';
import { type ProxyFixture, proxyFixture } from '../proxy/setup.js';

let gw: TestGateway | undefined;
let proxy: ProxyFixture | undefined;
let oidc: OidcHarness | undefined;
let started: Gatehouse | undefined;
afterEach(async () => {
  await gw?.close();
  await proxy?.close();
  await oidc?.close();
  await started?.close();
  gw = proxy = oidc = started = undefined;
});

const ENABLED = { metrics: { enabled: true } } as const;

/** Every metric of the gateway, with its type. */
const GATEWAY_FAMILIES = {
  gatehouse_http_requests_total: 'counter',
  gatehouse_http_request_duration_seconds: 'histogram',
  gatehouse_logins_total: 'counter',
  gatehouse_csrf_refusals_total: 'counter',
  gatehouse_sessions_created_total: 'counter',
  gatehouse_sessions_ended_total: 'counter',
  gatehouse_active_sessions: 'gauge',
  gatehouse_store_operation_duration_seconds: 'histogram',
  gatehouse_upstream_duration_seconds: 'histogram',
  gatehouse_token_refreshes_total: 'counter',
} as const;

async function scrape(target: { inject: TestGateway['inject'] }): Promise<Map<string, Family>> {
  const res = await target.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return parseExposition(res.body);
}

/** Every label value of every gatehouse_ sample. */
function labelValues(families: Map<string, Family>): string[] {
  return [...families.values()]
    .filter((f) => f.name.startsWith('gatehouse_'))
    .flatMap((f) => f.samples.flatMap((s) => Object.values(s.labels)));
}

describe('the exposition validator used by these tests', () => {
  it('refuses what the text format does not allow', () => {
    const bad = [
      'garbage line here\n',
      'a{b="c} 1\n',
      'a{b="c"} 1', // no final newline
      'a{b="c",b="d"} 1\n',
      'a 1\na 2\n',
      'a 1\nb 1\na 2\n',
      'a one\n',
      '0a 1\n',
      'a{__b="c"} 1\n',
      'a{b="\\t"} 1\n',
      '# TYPE a counter\na -1\n',
      '# TYPE a histogram\na_bucket{le="1"} 2\na_bucket{le="+Inf"} 1\na_sum 1\na_count 1\n',
      '# TYPE a histogram\na_bucket{le="+Inf"} 2\na_sum 1\na_count 1\n',
      '# TYPE a histogram\na_bucket{le="1"} 1\na_sum 1\na_count 1\n',
      'a 1\n# TYPE a counter\n',
    ];
    for (const text of bad) expect(() => parseExposition(text), text).toThrow();
    expect(() => parseExposition('a 1 x\n')).toThrow(ExpositionError);
    const good = parseExposition(
      '# HELP a_total Help with \\\\ and \\n.\n# TYPE a_total counter\na_total{b="q\\"uote\\\\"} 1e3 1700000000000\n\nc NaN\nd +Inf\n',
    );
    expect(sampleValue(good, 'a_total', { b: 'q"uote\\' })).toBe(1000);
    expect(good.get('a_total')?.help).toBe('Help with \\ and \n.');
  });
});

describe('metrics disabled (the default)', () => {
  it('/metrics is no route: it falls through to the SPA fallback like any unknown path', async () => {
    gw = await testGateway();
    expect(gw.gatehouse.metricsListener).toBeNull();
    const res = await gw.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/html' } });
    const unknown = await gw.inject({ method: 'GET', url: '/not-a-route', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(200);
    expect(res.statusCode).toBe(unknown.statusCode);
    expect(res.headers['content-type']).toBe(unknown.headers['content-type']);
    expect(res.body).toBe(unknown.body);
    expect(res.body).not.toContain('gatehouse_');
  });
});

describe('metrics on the gateway (enabled, no admin port)', () => {
  it('serves a valid Prometheus exposition, uncached, with every gateway metric described', async () => {
    gw = await testGateway(ENABLED);
    const res = await gw.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined();
    const families = parseExposition(res.body);
    for (const [name, type] of Object.entries(GATEWAY_FAMILIES)) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)?.help, name).toBeTruthy();
    }
    // Process metrics come along (one set per process, shared by every gateway in it).
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
  });

  it('counts sign-ins, CSRF refusals, sessions, requests and store calls exactly as they happen', async () => {
    gw = await testGateway(ENABLED);
    const before = await scrape(gw);
    const delta = (after: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);

    for (let i = 0; i < 2; i++) {
      const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'wrong' } });
      expect(res.statusCode).toBe(401);
    }
    const cookie = await login(gw);
    const refused = await gw.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(refused.statusCode).toBe(403);
    const embedded = await gw.inject({
      method: 'GET',
      url: '/files/report.txt',
      headers: { cookie, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
    });
    expect(embedded.statusCode).toBe(403);
    expect((await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await gw.inject({ method: 'GET', url: '/some/client/route', headers: { accept: 'text/html' } })).statusCode).toBe(200);
    const during = await scrape(gw);
    expect(sampleValue(during, 'gatehouse_active_sessions')).toBe(1);
    expect((await gw.inject({ method: 'POST', url: '/auth/logout', headers: { ...SAME_ORIGIN, cookie } })).statusCode).toBe(200);
    const after = await scrape(gw);

    expect(delta(after, 'gatehouse_logins_total', { method: 'local', outcome: 'failed' })).toBe(2);
    expect(delta(after, 'gatehouse_logins_total', { method: 'local', outcome: 'ok' })).toBe(1);
    expect(delta(after, 'gatehouse_logins_total', { method: 'local', outcome: 'throttled' })).toBe(0);
    expect(delta(after, 'gatehouse_csrf_refusals_total', { reason: 'cross_site_fetch' })).toBe(1);
    expect(delta(after, 'gatehouse_csrf_refusals_total', { reason: 'cross_site_resource' })).toBe(1);
    expect(delta(after, 'gatehouse_csrf_refusals_total', { reason: 'missing_header' })).toBe(0);
    expect(delta(after, 'gatehouse_sessions_created_total')).toBe(1);
    expect(delta(after, 'gatehouse_sessions_ended_total', { reason: 'logout' })).toBe(1);
    expect(delta(after, 'gatehouse_sessions_ended_total', { reason: 'revoked' })).toBe(0);
    expect(sampleValue(after, 'gatehouse_active_sessions')).toBe(0);

    const requests = (routeClass: string, method: string, status: string) =>
      delta(after, 'gatehouse_http_requests_total', { route_class: routeClass, method, status });
    expect(requests('auth', 'POST', '401')).toBe(2);
    expect(requests('auth', 'POST', '200')).toBe(2); // the sign-in and the logout
    expect(requests('auth', 'POST', '403')).toBe(1);
    expect(requests('auth', 'GET', '200')).toBe(1);
    expect(requests('static', 'GET', '403')).toBe(1);
    expect(requests('health', 'GET', '200')).toBe(1);
    expect(requests('spa', 'GET', '200')).toBe(1);
    // The scrapes themselves: `before` and `during` had finished when `after` was rendered.
    expect(requests('metrics', 'GET', '200')).toBe(2);
    expect(delta(after, 'gatehouse_http_request_duration_seconds_count', { route_class: 'auth', status_class: '4xx' })).toBe(3);

    // One write per sign-in, one delete per logout; reads on every request with the cookie.
    const store = (operation: string) =>
      delta(after, 'gatehouse_store_operation_duration_seconds_count', { operation, outcome: 'ok' });
    expect(store('set')).toBe(1);
    expect(store('delete')).toBe(1);
    expect(store('get')).toBe(2); // GET /auth/session and the logout; the CSRF refusal never reached the store
    // The gauge is read through the timed store, at scrape time.
    expect(sampleValue(after, 'gatehouse_store_operation_duration_seconds_count', { operation: 'countLive', outcome: 'ok' })).toBeGreaterThan(0);
    expect(sampleSum(after, 'gatehouse_store_operation_duration_seconds_count', { outcome: 'error' })).toBe(0);
  });

  it('counts a throttled sign-in once the account is locked', async () => {
    gw = await testGateway({ ...ENABLED, local: { enabled: true, store: 'memory', throttle: { accountFailures: 2 } } });
    for (let i = 0; i < 2; i++) {
      await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'bob', password: 'wrong' } });
    }
    const res = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'bob', password: PASSWORD } });
    expect(res.statusCode).toBe(429);
    const after = await scrape(gw);
    expect(sampleValue(after, 'gatehouse_logins_total', { method: 'local', outcome: 'failed' })).toBe(2);
    expect(sampleValue(after, 'gatehouse_logins_total', { method: 'local', outcome: 'throttled' })).toBe(1);
    expect(sampleValue(after, 'gatehouse_logins_total', { method: 'local', outcome: 'ok' })).toBe(0);
  });

  it('no label value carries a user id, session id, username, cookie or a path with ids', async () => {
    gw = await testGateway(ENABLED);
    const cookie = await login(gw);
    const user = (await gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).json().user;
    const [session] = await gw.gatehouse.store.listByUser(user.id);
    for (const url of ['/files/4242/report.txt', '/spa/route/98765?q=31337', '/auth/sessions/7777777', '/.well-known/x-55555', '/%61uth/66666']) {
      await gw.inject({ method: 'GET', url, headers: { ...SAME_ORIGIN, cookie } });
    }
    await gw.inject({ method: 'DELETE', url: `/auth/sessions/${session?.id}`, headers: { ...SAME_ORIGIN, cookie } });
    await gw.inject({ method: 'PROPFIND' as 'GET', url: '/dav' });
    const values = labelValues(await scrape(gw));
    const secrets = [user.id, session?.id, session?.id.slice(0, 12), 'alice', cookie.split('=')[1], '4242', '98765', '31337', '7777777', '55555', '66666', 'PROPFIND'];
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(values.filter((v) => v.includes(secret as string)), secret).toEqual([]);
    }
    // Whatever was asked, route classes and methods come from fixed sets.
    const families = await scrape(gw);
    const classes = new Set(families.get('gatehouse_http_requests_total')?.samples.map((s) => s.labels.route_class));
    const methods = new Set(families.get('gatehouse_http_requests_total')?.samples.map((s) => s.labels.method));
    expect([...classes].every((c) => ['auth', 'api', 'static', 'spa', 'wellknown', 'health', 'metrics', 'other'].includes(c as string))).toBe(true);
    expect([...methods].every((m) => ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'].includes(m as string))).toBe(true);
    expect(methods).toContain('OTHER');
    expect(classes).toContain('wellknown');
  });
});

describe('metrics on an admin port', () => {
  it('serves /metrics (and /healthz) on the admin listener only, never on the public app', async () => {
    gw = await testGateway({ metrics: { enabled: true, port: 0 } });
    const admin = gw.gatehouse.metricsListener;
    expect(admin).not.toBeNull();
    const pub = await gw.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/html' } });
    expect(pub.statusCode).toBe(200);
    expect(pub.body).not.toContain('gatehouse_');
    await login(gw);
    const families = await scrape(admin as NonNullable<typeof admin>);
    expect(sampleValue(families, 'gatehouse_logins_total', { method: 'local', outcome: 'ok' })).toBe(1);
    // The public request for /metrics was an SPA path there, not a metrics scrape.
    expect(sampleValue(families, 'gatehouse_http_requests_total', { route_class: 'spa', method: 'GET', status: '200' })).toBe(1);
    expect(sampleSum(families, 'gatehouse_http_requests_total', { route_class: 'metrics' })).toBe(0);
    expect((await admin?.inject({ method: 'GET', url: '/healthz' }))?.statusCode).toBe(200);
    for (const url of ['/auth/session', '/', '/readyz']) expect((await admin?.inject({ method: 'GET', url }))?.statusCode, url).toBe(404);
  });

  it('starts and stops with the gateway (gatehouse start)', async () => {
    const config = resolveConfig(testConfigInput({ metrics: { enabled: true, port: 0, host: '127.0.0.1' } }), { baseDir: SITE, env: {} });
    started = await startGatehouse(config, { clock: testClock(), keys: createKeyRing([generateKey()]), logger: false, https: null });
    const admin = started.metricsListener;
    const { port } = admin?.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(parseExposition(await res.text()).has('gatehouse_http_requests_total')).toBe(true);
    await started.close();
    started = undefined;
    expect(admin?.server.listening).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('upstream metrics', () => {
  it('times each proxied call by configured route and status class: answers, errors and timeouts', async () => {
    proxy = await proxyFixture(ENABLED);
    const before = await scrape(proxy.gw);
    const ok = await proxy.gw.inject({ method: 'GET', url: '/api/open/items/4242' });
    expect(ok.statusCode).toBe(200);
    expect((await proxy.gw.inject({ method: 'GET', url: '/api/down/x' })).statusCode).toBe(502);
    expect((await proxy.gw.inject({ method: 'GET', url: '/api/slow/slow/2000' })).statusCode).toBe(504);
    // Refused before any upstream call: no upstream sample.
    expect((await proxy.gw.inject({ method: 'GET', url: '/api/plain/x', headers: SAME_ORIGIN })).statusCode).toBe(401);
    const after = await scrape(proxy.gw);
    const upstream = (api: string, statusClass: string) =>
      sampleValue(after, 'gatehouse_upstream_duration_seconds_count', { api, status_class: statusClass }) -
      sampleValue(before, 'gatehouse_upstream_duration_seconds_count', { api, status_class: statusClass });
    expect(upstream('/api/open', '2xx')).toBe(1);
    expect(upstream('/api/down', 'error')).toBe(1);
    expect(upstream('/api/slow', 'timeout')).toBe(1);
    expect(sampleSum(after, 'gatehouse_upstream_duration_seconds_count', { api: '/api/plain' })).toBe(0);
    expect(sampleSum(after, 'gatehouse_upstream_duration_seconds_count')).toBe(3);
    expect(sampleValue(after, 'gatehouse_http_requests_total', { route_class: 'api', method: 'GET', status: '200' })).toBe(1);
    expect(sampleValue(after, 'gatehouse_http_requests_total', { route_class: 'api', method: 'GET', status: '401' })).toBe(1);
    expect(labelValues(after).filter((v) => v.includes('4242') || v.includes('items'))).toEqual([]);
  });
});

describe('federated sign-in and refresh', () => {
  it('counts a provider sign-in under the provider id, and token refreshes by outcome', async () => {
    oidc = await oidcHarness(ENABLED, { accessTokenTtl: 30 });
    const { cookie } = await federatedLogin(oidc);
    // The provider's 30 s token is already inside the refresh window: this request refreshes it.
    expect((await oidc.gw.inject({ method: 'GET', url: '/auth/session', headers: { ...SAME_ORIGIN, cookie } })).statusCode).toBe(200);
    const families = await scrape(oidc.gw);
    expect(sampleValue(families, 'gatehouse_logins_total', { method: 'test', outcome: 'ok' })).toBe(1);
    expect(sampleSum(families, 'gatehouse_logins_total', { method: 'local' })).toBe(0);
    expect(sampleValue(families, 'gatehouse_token_refreshes_total', { outcome: 'refreshed' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_sessions_created_total')).toBe(1);
  });
});

describe('session lifecycle counters', () => {
  it('count every way a session ends, from the audit events (bounded labels even for unexpected input)', async () => {
    const metrics = createPrometheusMetrics({ loginMethods: ['local', 'corp'], apiPaths: ['/api/a'], processMetrics: false });
    const observe = auditMetrics(metrics);
    expect(observe).toBeDefined();
    const record = observe as NonNullable<typeof observe>;
    record({ event: 'login', method: 'oidc', provider: 'corp', userId: 'corp:u1', sessionId: 's1' });
    record({ event: 'login', method: 'oidc', provider: 'not-configured', userId: 'x:u1', sessionId: 's2' });
    record({ event: 'password_changed', userId: 'u1', sessionId: 's3', revoked: 2 });
    record({ event: 'sessions_revoked', userId: 'u1', sessionId: 's3', revoked: 4 });
    record({ event: 'session_revoked', userId: 'u1', sessionId: 's3', revoked: 's4' });
    record({ event: 'backchannel_logout', provider: 'corp', ended: 3 });
    record({ event: 'csrf_rejected', reason: 'bad_token' });
    record({ event: 'csrf_rejected', reason: 'something new' });
    metrics.upstream('/api/a/123', 200, 0.1);
    metrics.request('spa', 'PROPFIND', 207, 0.01);
    metrics.sessionsEnded('refresh_refused', 1);
    const families = parseExposition(await metrics.render());
    expect(families.has('process_cpu_user_seconds_total')).toBe(false);
    expect(sampleValue(families, 'gatehouse_logins_total', { method: 'corp', outcome: 'ok' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_logins_total', { method: 'other', outcome: 'ok' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_sessions_created_total')).toBe(3);
    expect(sampleValue(families, 'gatehouse_sessions_ended_total', { reason: 'password_changed' })).toBe(3);
    expect(sampleValue(families, 'gatehouse_sessions_ended_total', { reason: 'revoked' })).toBe(5);
    expect(sampleValue(families, 'gatehouse_sessions_ended_total', { reason: 'backchannel' })).toBe(3);
    expect(sampleValue(families, 'gatehouse_sessions_ended_total', { reason: 'refresh_refused' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_csrf_refusals_total', { reason: 'bad_token' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_csrf_refusals_total', { reason: 'other' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_upstream_duration_seconds_count', { api: 'other', status_class: '2xx' })).toBe(1);
    expect(sampleValue(families, 'gatehouse_http_requests_total', { route_class: 'spa', method: 'OTHER', status: '207' })).toBe(1);
    // No store with countLive: the gauge is absent rather than a made-up number.
    expect(families.has('gatehouse_active_sessions')).toBe(false);
  });

  it('two gateways in one process count separately (a registry per gateway)', async () => {
    gw = await testGateway(ENABLED);
    const other = await testGateway(ENABLED);
    try {
      await login(other);
      expect(sampleValue(await scrape(other), 'gatehouse_logins_total', { method: 'local', outcome: 'ok' })).toBe(1);
      expect(sampleValue(await scrape(gw), 'gatehouse_logins_total', { method: 'local', outcome: 'ok' })).toBe(0);
    } finally {
      await other.close();
    }
  });
});
