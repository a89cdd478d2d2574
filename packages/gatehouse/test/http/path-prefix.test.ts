// The one "is this path under that prefix" rule (src/util/path-prefix.ts), and the two callers
// whose reading it tightened, attacked over a real socket: a percent-encoded spelling of a
// reserved prefix ("/%61pi" is "/api" to the router, which decodes) is reserved too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isReserved } from '../../src/dev/reserved.js';
import { checkProxyPath } from '../../src/proxy/path.js';
import { isUnderAnyPrefix, isUnderPrefix, pathAfterPrefix, pathOfTarget } from '../../src/util/path-prefix.js';
import { login, type TestGateway, testGateway } from '../helpers/gateway.js';
import { listen, rawRequest } from '../proxy/setup.js';

describe('isUnderPrefix: raw, segment-wise', () => {
  it.each([
    ['/api', '/api', true],
    ['/api/', '/api', true],
    ['/api/orders/1', '/api', true],
    ['/apix', '/api', false],
    ['/ap', '/api', false],
    ['/', '/api', false],
    ['', '/api', false],
    ['/API', '/api', false],
    ['/%61pi/x', '/api', false],
    ['/api', '/api/', true],
    ['/api/x', '/api/', true],
    ['/', '/', true],
    ['/anything/at/all', '/', true],
    ['http://host/api', '/', false],
    ['/api/orders', '/api/orders', true],
    ['/api/ordersx', '/api/orders', false],
  ])('%j under %j: %s', (path, prefix, expected) => {
    expect(isUnderPrefix(path, prefix)).toBe(expected);
  });

  it('pathAfterPrefix gives what follows the prefix, starting with "/" or empty', () => {
    expect(pathAfterPrefix('/api/orders/1', '/api/orders')).toBe('/1');
    expect(pathAfterPrefix('/api/orders', '/api/orders')).toBe('');
    expect(pathAfterPrefix('/api/x', '/api/')).toBe('/x');
    expect(pathAfterPrefix('/x/y', '')).toBe('/x/y');
    expect(pathAfterPrefix('/x/y', '/')).toBe('/x/y');
    expect(pathAfterPrefix('/apix', '/api')).toBeNull();
  });

  it('pathOfTarget drops the query', () => {
    expect(pathOfTarget('/api/x?a=/b?c')).toBe('/api/x');
    expect(pathOfTarget('/api/x')).toBe('/api/x');
    expect(pathOfTarget('')).toBe('');
  });
});

describe('isUnderAnyPrefix: also decoded, failing closed', () => {
  const reserved = ['/auth', '/api', '/files'];
  it('without alsoDecoded, reads the raw path only', () => {
    expect(isUnderAnyPrefix('/api/x', reserved)).toBe(true);
    expect(isUnderAnyPrefix('/%61pi/x', reserved)).toBe(false);
    expect(isUnderAnyPrefix('/%zz', reserved)).toBe(false);
    expect(isUnderAnyPrefix('/dashboard', reserved)).toBe(false);
  });

  it('OWASP ASVS 5.0 V1.1.1: an encoded spelling of a reserved prefix is caught once decoded', () => {
    for (const path of ['/%61pi/x', '/%61%70%69', '/a%75th/session', '/%66iles/report.txt', '/api%2fx']) {
      expect(isUnderAnyPrefix(path, reserved, { alsoDecoded: true }), path).toBe(true);
    }
    expect(isUnderAnyPrefix('/%61pix', reserved, { alsoDecoded: true })).toBe(false);
    expect(isUnderAnyPrefix('/dashb%6fard', reserved, { alsoDecoded: true })).toBe(false);
  });

  it('OWASP ASVS 5.0 V1.1.1: a path that does not decode counts as reserved (fail closed)', () => {
    for (const path of ['/%zz', '/%', '/%c0%ae%c0%ae/x', '/dashboard/%e0%80']) {
      expect(isUnderAnyPrefix(path, reserved, { alsoDecoded: true }), path).toBe(true);
      expect(isReserved(path, reserved), path).toBe(true);
    }
    expect(isUnderAnyPrefix('/%zz', [], { alsoDecoded: true })).toBe(false);
  });

  it('the proxy reads the same rule: the prefix is matched on the raw bytes', () => {
    expect(checkProxyPath('/api/orders/1?x=1', '/api/orders')).toEqual({ ok: true, rest: '/1', query: '?x=1' });
    expect(checkProxyPath('/api/ordersx', '/api/orders')).toEqual({ ok: false, failure: 'outside_prefix' });
    expect(checkProxyPath('/api/%6frders/1', '/api/orders')).toEqual({ ok: false, failure: 'outside_prefix' });
  });
});

describe('callers over a real socket', () => {
  const NAV = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' };
  let gw: TestGateway;
  let origin: string;
  beforeAll(async () => {
    gw = await testGateway();
    origin = await listen(gw);
  });
  afterAll(async () => gw.close());

  it('OWASP ASVS 5.0 V1.1.1: the SPA fallback does not answer an encoded spelling of a reserved prefix with index.html', async () => {
    // Sent byte for byte (fetch would set its own Sec-Fetch-Mode). A client-side route gets the SPA.
    expect((await rawRequest(origin, '/dashboard', NAV)).body).toContain('SPA-INDEX');
    for (const path of ['/%61pi/unknown', '/%61pi', '/a%75th/unknown']) {
      const res = await rawRequest(origin, path, NAV);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body).error, path).toBe('not_found');
      expect(res.body, path).not.toContain('SPA-INDEX');
    }
  });

  it('RFC 9111 §5.2.2.5 / OWASP ASVS 5.0 V14.3.2: session state under an encoded auth prefix is no-store too', async () => {
    const cookie = await login(gw);
    for (const path of ['/auth/session', '/%61uth/session', '/a%75th/session']) {
      const res = await fetch(`${origin}${path}`, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      expect((await res.json()).user, path).toMatchObject({ name: 'Alice' });
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});
