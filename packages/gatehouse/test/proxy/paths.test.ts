// Path tricks never reach an unlisted upstream or another upstream path (RFC 10017 proxy
// restrictions). The requests go over a real socket: fetch and inject() normalize paths first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProxyPath, upstreamTarget } from '../../src/proxy/path.js';
import { login } from '../helpers/gateway.js';
import { listen, type ProxyFixture, proxyFixture, rawRequest } from './setup.js';

describe('checkProxyPath', () => {
  it.each([
    ['/api/open', { ok: true, rest: '', query: '' }],
    ['/api/open/', { ok: true, rest: '/', query: '' }],
    ['/api/open/a/b.json?x=1&y=%2f', { ok: true, rest: '/a/b.json', query: '?x=1&y=%2f' }],
    ['/api/open/a%20b/...', { ok: true, rest: '/a%20b/...', query: '' }],
    ['/api/open/caf%C3%A9/%E6%97%A5', { ok: true, rest: '/caf%C3%A9/%E6%97%A5', query: '' }],
  ])('accepts %s', (url, expected) => {
    expect(checkProxyPath(url, '/api/open')).toEqual(expected);
  });

  it.each([
    ['http://evil.example/api/open/x', 'absolute_form'],
    ['//evil.example/api/open/x', 'outside_prefix'],
    ['/api/opener/x', 'outside_prefix'],
    ['/api/%6fpen/x', 'outside_prefix'],
    ['/api/open/../secret', 'dot_segment'],
    ['/api/open/./x', 'dot_segment'],
    ['/api/open/%2e%2e/secret', 'dot_segment'],
    ['/api/open/%2E./secret', 'dot_segment'],
    ['/api/open/..;/secret', 'dot_segment'],
    ['/api/open/x/..', 'dot_segment'],
    ['/api/open/..%2fsecret', 'encoded_separator'],
    ['/api/open/%2F%2Fevil.example', 'encoded_separator'],
    ['/api/open/..%5csecret', 'encoded_separator'],
    ['/api/open/..\\secret', 'backslash'],
    ['/api/open//evil.example/x', 'empty_segment'],
    ['/api/open/a//b', 'empty_segment'],
    ['/api/open/%252e%252e/secret', 'double_encoding'],
    ['/api/open/%252f', 'double_encoding'],
    ['/api/open/a%00b', 'control_character'],
    ['/api/open/%0d%0aX-Injected:%201', 'control_character'],
    ['/api/open/%c0%ae%c0%ae/secret', 'malformed_encoding'],
    ['/api/open/%zz', 'malformed_encoding'],
    ['/api/open/%ef%bc%8e%ef%bc%8e/secret', 'unicode_lookalike'],
    ['/api/open/%e2%80%a5/secret', 'unicode_lookalike'],
    ['/api/open/..%ef%bc%8fsecret', 'unicode_lookalike'],
    ['/api/open/..%e2%88%95secret', 'unicode_lookalike'],
    ['/api/open/a%e2%80%a4b', 'unicode_lookalike'],
    ['/api/open/\u00ef\u00bc\u008e', 'non_ascii'],
    ['/api/open/a\u0000b', 'control_character'],
  ])('refuses %s (%s)', (url, failure) => {
    expect(checkProxyPath(url, '/api/open')).toEqual({ ok: false, failure });
  });

  it('joins onto the upstream base path and cannot change its origin', () => {
    const up = new URL('http://127.0.0.1:4000/v1/');
    expect(upstreamTarget(up, '/a/b', '?q=1')).toBe('http://127.0.0.1:4000/v1/a/b?q=1');
    expect(upstreamTarget(new URL('http://127.0.0.1:4000'), '', '')).toBe('http://127.0.0.1:4000/');
    expect(new URL(upstreamTarget(up, '/@evil.example', '')).host).toBe('127.0.0.1:4000');
  });
});

describe('path tricks against the running gateway', () => {
  let f: ProxyFixture;
  let origin: string;
  let cookie: string;
  beforeAll(async () => {
    f = await proxyFixture();
    origin = await listen(f.gw);
    cookie = await login(f.gw, 'bob');
  });
  afterAll(() => f.close());

  const TRICKS = [
    '/api/open/../orders/1',
    '/api/open/..%2forders%2f1',
    '/api/open/%2e%2e/orders/1',
    '/api/open/%2E%2E/%2E%2E/secret',
    '/api/open/.%2e/secret',
    '/api/open/..;/secret',
    '/api/open/..\\secret',
    '/api/open/%5c..%5csecret',
    '/api/open//127.0.0.1/secret',
    '/api/open/%2f%2f127.0.0.1/secret',
    '/api/open/%252e%252e/secret',
    '/api/open/x/..',
    '/api/plain/../admin/x',
    '/api/plain/%2e%2e/admin/x',
    'http://127.0.0.1/api/open/x',
    'http://evil.example/api/open/x',
    '//evil.example/api/open/x',
    '/api/../internal-unused/x',
    '/internal-unused/../x',
    '/api/open/%00',
    '/api/open\\..\\secret',
    '/API/open/x',
    '/api/open%2f..%2fplain/x',
  ];

  it.each(TRICKS)('%s reaches no upstream, or only the base path of /api/open', async (target) => {
    const before = f.echo.seen.length;
    const res = await rawRequest(origin, target, { cookie, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(f.unlisted.seen).toEqual([]);
    for (const seen of f.echo.seen.slice(before)) {
      expect(seen.path.startsWith('/base/'), seen.path).toBe(true);
      expect(seen.path).not.toMatch(/\.\.|%2e|%2f|%5c|\\|\/\//i);
    }
  });

  it('the refusals say path_rejected (or not_found outside every route)', async () => {
    expect((await rawRequest(origin, '/api/open/%2e%2e/secret')).body).toContain('"path_rejected"');
    expect((await rawRequest(origin, '/api/open//evil.example/x')).body).toContain('"path_rejected"');
    expect((await rawRequest(origin, '/api/nothing-here/x')).status).toBe(404);
  });

  it('the same socket still proxies a clean path (the tests above can fail)', async () => {
    const res = await rawRequest(origin, '/api/open/fine/path?x=1');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).path).toBe('/base/fine/path?x=1');
  });
});
