import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { isLoopbackHost } from '../../src/config/origin.js';
import { validateConfig } from '../../src/config/validate.js';
import { BASE_DIR, keysOf, MINIMUM, messageFor, problemsOf, withPatch } from './helpers.js';

const accepts = (input: unknown) => expect(() => resolveConfig(input, { baseDir: BASE_DIR })).not.toThrow();
const dev = (patch: Record<string, unknown>) => withPatch({ mode: 'development', ...patch });

describe('publicOrigin', () => {
  it.each([
    ['https://app.example.com/app', 'path'],
    ['https://app.example.com?x=1', 'query'],
    ['https://app.example.com#top', 'fragment'],
    ['https://user:pw@app.example.com', 'credentials'],
    ['app.example.com', 'not a URL'],
    ['ftp://app.example.com', 'not http(s)'],
  ])('refuses %s (%s)', (publicOrigin, reason) => {
    const message = messageFor(problemsOf(withPatch({ publicOrigin })), 'publicOrigin');
    expect(message).toContain('is not an origin');
    expect(message).toContain(reason === 'query' || reason === 'fragment' || reason === 'path' ? 'path, query or fragment' : reason);
  });

  it('refuses http: in production', () => {
    expect(messageFor(problemsOf(withPatch({ publicOrigin: 'http://app.example.com' })), 'publicOrigin')).toMatch(
      /^plain HTTP in production/,
    );
  });

  it('accepts http: in development, and a trailing slash', () => {
    accepts(dev({ publicOrigin: 'http://localhost:8080' }));
    accepts(withPatch({ publicOrigin: 'https://app.example.com/' }));
  });
});

describe('listen.tls: false', () => {
  it('is refused without trustProxy in production', () => {
    expect(keysOf(withPatch({ listen: { tls: false } }))).toEqual(['listen.tls']);
  });

  it('is refused in development on an address other machines reach', () => {
    const message = messageFor(problemsOf(dev({ listen: { host: '0.0.0.0', tls: false } })), 'listen.tls');
    expect(message).toMatch(/"0\.0\.0\.0", which other machines can reach/);
  });

  it('is accepted behind a trusted proxy, or on loopback in development', () => {
    accepts(withPatch({ listen: { host: '0.0.0.0', tls: false }, trustProxy: 1 }));
    accepts(withPatch({ listen: { tls: false }, trustProxy: '10.0.0.1' }));
    accepts(dev({ publicOrigin: 'http://localhost:8080', listen: { host: '::1', tls: false } }));
    accepts(dev({ listen: { host: 'localhost', tls: false } }));
  });

  it('counts a hop count of 0 as no proxy', () => {
    expect(keysOf(withPatch({ listen: { tls: false }, trustProxy: 0 }))).toEqual(['listen.tls']);
  });

  it('recognizes loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example.com', '::ffff:10.0.0.1', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('session cookie', () => {
  const cookie = (c: Record<string, unknown>) => withPatch({ session: { cookie: c } });

  it('refuses SameSite=None', () => {
    const message = messageFor(problemsOf(cookie({ sameSite: 'none' })), 'session.cookie.sameSite');
    expect(message).toMatch(/cross-site requests would carry the session/);
  });

  it('refuses secure: false', () => {
    expect(keysOf(cookie({ secure: false }))).toEqual(['session.cookie.secure']);
  });

  it('refuses httpOnly: false', () => {
    expect(keysOf(cookie({ httpOnly: false }))).toEqual(['session.cookie.httpOnly']);
  });

  it('refuses a Domain attribute', () => {
    const message = messageFor(problemsOf(cookie({ domain: 'example.com' })), 'session.cookie.domain');
    expect(message).toMatch(/shares the cookie with every subdomain/);
  });

  it('refuses a name without the __Host- prefix', () => {
    const message = messageFor(problemsOf(cookie({ name: 'session' })), 'session.cookie.name');
    expect(message).toContain('RFC 6265bis §4.1.3.2');
    expect(message).toContain('"__Host-session"');
    expect(keysOf(cookie({ name: '__Secure-gh' }))).toEqual(['session.cookie.name']);
    expect(keysOf(cookie({ name: '__Host-' }))).toEqual(['session.cookie.name']);
    accepts(cookie({ name: '__Host-app' }));
  });

  it('refuses a path other than /', () => {
    expect(keysOf(cookie({ path: '/app' }))).toEqual(['session.cookie.path']);
  });

  it('reports every cookie problem at once', () => {
    expect(keysOf(cookie({ sameSite: 'none', secure: false, httpOnly: false, domain: 'x.com', name: 'sid', path: '/a' }))).toEqual([
      'session.cookie.sameSite',
      'session.cookie.secure',
      'session.cookie.httpOnly',
      'session.cookie.domain',
      'session.cookie.name',
      'session.cookie.path',
    ]);
  });
});

describe('cors', () => {
  it('refuses "*" altogether, explaining credentials', () => {
    const message = messageFor(problemsOf(dev({ cors: { allowOrigins: '*' } })), 'cors.allowOrigins');
    expect(message).toMatch(/^"\*" is refused: with credentials, any site .* read the answers/);
    const withoutCredentials = messageFor(
      problemsOf(dev({ cors: { allowOrigins: '*', allowCredentials: false } })),
      'cors.allowOrigins',
    );
    expect(withoutCredentials).toMatch(/any site could read/);
  });

  it('refuses true (reflect any origin)', () => {
    const message = messageFor(problemsOf(dev({ cors: { allowOrigins: true } })), 'cors.allowOrigins');
    expect(message).toMatch(/^true \(reflect any origin\) is refused/);
  });

  it('refuses "*" and "null" entries and entries that are not bare origins', () => {
    const input = dev({ cors: { allowOrigins: ['http://localhost:5173', '*', 'null', 'http://localhost:3000/app', 'localhost:4000'] } });
    const problems = problemsOf(input);
    expect(problems.map((p) => p.key)).toEqual([
      'cors.allowOrigins[1]',
      'cors.allowOrigins[2]',
      'cors.allowOrigins[3]',
      'cors.allowOrigins[4]',
    ]);
    expect(messageFor(problems, 'cors.allowOrigins[2]')).toMatch(/Origin: null/);
  });

  it('refuses an allowlist in production, accepts it in development', () => {
    const message = messageFor(problemsOf(withPatch({ cors: { allowOrigins: ['https://other.example.com'] } })), 'cors.allowOrigins');
    expect(message).toMatch(/^a CORS allowlist is refused in production/);
    accepts(dev({ cors: { allowOrigins: ['http://localhost:5173'] } }));
  });
});

describe('static paths', () => {
  it('refuses a static path equal to or under auth.prefix', () => {
    expect(keysOf(withPatch({ static: [{ path: '/auth', root: './a' }] }))).toEqual(['static[0].path']);
    expect(keysOf(withPatch({ static: [{ path: '/files', root: './f' }, { path: '/auth/x', root: './a' }] }))).toEqual([
      'static[1].path',
    ]);
    expect(keysOf(withPatch({ static: [{ path: '/login', root: './a' }], auth: { prefix: '/login/' } }))).toEqual([
      'static[0].path',
    ]);
    accepts(withPatch({ static: [{ path: '/authors', root: './a' }] }));
  });

  it('refuses two static entries with the same path', () => {
    const input = withPatch({ static: [{ path: '/files', root: './a' }, { path: '/docs', root: './d' }, { path: '/files', root: './b' }] });
    expect(messageFor(problemsOf(input), 'static[2].path')).toMatch(/also the path of static\[0\]/);
  });
});

describe('served roots', () => {
  it('refuses a static path ending in "/" (it would leave the files to the SPA handler) and "/"', () => {
    expect(messageFor(problemsOf(withPatch({ static: [{ path: '/reports/', root: './r' }] })), 'static[0].path')).toMatch(/must not end with "\/": write "\/reports"/);
    expect(keysOf(withPatch({ static: [{ path: '/', root: './r' }] }))).toEqual(['static[0].path']);
  });

  it('refuses a protected folder inside the SPA root or inside another mount', () => {
    const insideSpa = withPatch({ spa: { root: './dist' }, static: [{ path: '/private', root: './dist/reports', protected: true }] });
    expect(messageFor(problemsOf(insideSpa), 'static[0].root')).toMatch(/inside spa\.root .* without this mount's session check/);
    const nested = withPatch({ static: [{ path: '/pub', root: './shared', protected: false }, { path: '/admin', root: './shared/admin', protected: true }] });
    expect(keysOf(nested)).toEqual(['static[1].root']);
    const same = withPatch({ static: [{ path: '/a', root: './f', protected: true }, { path: '/b', root: './f', protected: true, roles: ['admin'] }] });
    expect(keysOf(same)).toEqual(['static[0].root', 'static[1].root']);
    accepts(withPatch({ spa: { root: './dist' }, static: [{ path: '/files', root: './files' }, { path: '/public', root: './dist-public', protected: false }] }));
  });
});

describe('trustProxy', () => {
  it('refuses true in production: clients would choose their own address', () => {
    expect(messageFor(problemsOf(withPatch({ trustProxy: true })), 'trustProxy')).toMatch(/number of proxies/);
    accepts(withPatch({ trustProxy: 1 }));
    accepts(withPatch({ trustProxy: '10.0.0.0/8' }));
    accepts(dev({ trustProxy: true }));
  });
});

describe('timeouts', () => {
  it('refuses local.throttle.maxLockout below lockout', () => {
    const message = messageFor(
      problemsOf(withPatch({ local: { throttle: { lockout: '10m', maxLockout: '5m' } } })),
      'local.throttle.maxLockout',
    );
    expect(message).toBe('5m is shorter than local.throttle.lockout (10m): the cap would cut the first lockout. Set it to at least 10m.');
    accepts(withPatch({ local: { throttle: { lockout: '10m', maxLockout: '10m' } } }));
  });

  it('refuses session.idleTimeout above absoluteTimeout', () => {
    expect(keysOf(withPatch({ session: { idleTimeout: '13h', absoluteTimeout: '12h' } }))).toEqual(['session.idleTimeout']);
    accepts(withPatch({ session: { idleTimeout: '12h', absoluteTimeout: '12h' } }));
  });

  it('caps absoluteTimeout at 400 days', () => {
    const message = messageFor(problemsOf(withPatch({ session: { absoluteTimeout: '401d' } })), 'session.absoluteTimeout');
    expect(message).toContain('RFC 6265bis');
    accepts(withPatch({ session: { absoluteTimeout: '400d' } }));
  });
});

describe('HSTS preload', () => {
  it('needs includeSubDomains and a max-age of one year', () => {
    expect(keysOf(withPatch({ headers: { hsts: { preload: true, maxAge: 86_400 } } }))).toEqual(['headers.hsts.preload']);
    expect(keysOf(withPatch({ headers: { hsts: { preload: true, includeSubDomains: false } } }))).toEqual(['headers.hsts.preload']);
    accepts(withPatch({ headers: { hsts: { preload: true, maxAge: 63_072_000 } } }));
  });
});

describe('validateConfig', () => {
  it('checks only the sections it is given', () => {
    expect(validateConfig({})).toEqual([]);
    expect(validateConfig({ cors: { allowOrigins: true, allowCredentials: true } }).map((p) => p.key)).toEqual(['cors.allowOrigins']);
  });

  it('accepts the minimum configuration', () => {
    accepts(MINIMUM);
  });
});

describe('providers', () => {
  const provider = { id: 'corp', issuer: 'https://login.example.com', clientId: 'gatehouse', clientSecret: 's3cret-s3cret' };
  it('accepts a provider with a secret, and resolves a private key path', () => {
    accepts(withPatch({ providers: [provider] }));
    accepts(withPatch({ providers: [{ ...provider, clientSecret: undefined, privateKeyJwt: { keyFile: './key.pem' } }] }));
  });

  it('refuses neither or both client authentications, scopes without openid, duplicate ids', () => {
    expect(keysOf(withPatch({ providers: [{ ...provider, clientSecret: undefined }] }))).toEqual(['providers[0].clientSecret']);
    expect(keysOf(withPatch({ providers: [{ ...provider, privateKeyJwt: { keyFile: './k.pem' } }] }))).toEqual(['providers[0].clientSecret']);
    expect(keysOf(withPatch({ providers: [{ ...provider, scopes: ['profile'] }] }))).toEqual(['providers[0].scopes']);
    expect(keysOf(withPatch({ providers: [provider, { ...provider }] }))).toEqual(['providers[1].id']);
  });

  it('refuses a plain-HTTP issuer, except on loopback with allowHttpIssuer', () => {
    expect(messageFor(problemsOf(withPatch({ providers: [{ ...provider, issuer: 'http://login.example.com' }] })), 'providers[0].issuer')).toMatch(/must use https/);
    expect(messageFor(problemsOf(withPatch({ providers: [{ ...provider, issuer: 'http://127.0.0.1:9000' }] })), 'providers[0].issuer')).toMatch(/allowHttpIssuer/);
    accepts(withPatch({ providers: [{ ...provider, issuer: 'http://127.0.0.1:9000', allowHttpIssuer: true }] }));
    expect(keysOf(withPatch({ providers: [{ ...provider, issuer: 'http://10.0.0.5', allowHttpIssuer: true }] }))).toEqual(['providers[0].issuer']);
  });

  it('refuses unknown keys and bad ids in a provider', () => {
    expect(keysOf(withPatch({ providers: [{ ...provider, clientSecrt: 'x' }] }))).toEqual(['providers[0].clientSecrt']);
    expect(keysOf(withPatch({ providers: [{ ...provider, id: 'Corp Login' }] }))).toEqual(['providers[0].id']);
  });
});

describe('session.store: redis URLs', () => {
  const store = (url: string) => withPatch({ session: { store: url } });

  it('accepts every redis form', () => {
    for (const url of [
      'redis://127.0.0.1:6379',
      'redis://redis',
      'redis://:pa%40ss@redis.internal:6380/2',
      'rediss://gatehouse:s3cret@cache.example.com:6380/0',
      'redis-sentinel://s1:26379,s2:26379,[::1]/mymaster?db=3',
      'redis-cluster://user:pw@10.0.0.1:7000,10.0.0.2:7001',
    ]) {
      accepts(store(url));
    }
  });

  it.each([
    ['redis://h:0', /port of "h" must be a number from 1 to 65535/],
    ['redis://h:6379/db1', /database number/],
    ['redis://h1:6379,h2:6379', /names one server/],
    ['redis://h?db=1', /takes no \?parameters/],
    ['redis-sentinel://s1:26379,s2:26379', /master name is missing/],
    ['redis-sentinel://s1/master?database=1', /unknown parameter "database"/],
    ['redis-sentinel://s1/master?db=x', /\?db must be a database number/],
    ['redis-cluster://h1:7000/1', /only database 0/],
    ['redis-cluster://h1:7000,,h2:7001', /a host is empty/],
    ['redis://::1:6379', /IPv6 address: write it in brackets/],
    ['redis://bad host:6379', /not a host name/],
    ['redis://user@h:6379', /no password/],
  ])('refuses %s, naming session.store and the fix', (url, reason) => {
    const message = messageFor(problemsOf(store(url)), 'session.store');
    expect(message).toMatch(reason);
    expect(message).toMatch(/^the Redis URL is malformed \(/);
    expect(message).toContain('Write "redis://[user:password@]host:6379[/db]"');
  });

  it('never echoes the password of a malformed URL', () => {
    for (const url of [
      'redis://user:Hunter2secret@h:99999',
      'redis://user:Hunter2secret@:6379',
      'redis-sentinel://:Hunter2secret@s1:26379',
      'redis-cluster://u:Hunter2secret@h1:7000/3',
      'redis://u:Hunter2%zzsecret@h',
      'rediss://u:Hunter2secret@h/x#frag',
    ]) {
      const problems = problemsOf(store(url));
      expect(problems.map((p) => p.key)).toEqual(['session.store']);
      expect(JSON.stringify(problems)).not.toContain('Hunter2');
    }
  });

  it('still refuses accounts in Redis', () => {
    expect(keysOf(withPatch({ local: { enabled: true, store: 'redis://h:6379' } }))).toEqual(['local.store']);
  });
});

describe('metrics', () => {
  it('refuses an admin port equal to the gateway port, naming metrics.port', () => {
    expect(keysOf(withPatch({ metrics: { enabled: true, port: 8443 } }))).toEqual(['metrics.port']);
    expect(messageFor(problemsOf(withPatch({ metrics: { enabled: true, port: 8443 } })), 'metrics.port')).toMatch(/listen\.port 8443/);
  });

  it('accepts a port of its own; on the public origin only when said so in production', () => {
    accepts(withPatch({ metrics: { enabled: true, port: 9464 } }));
    accepts(withPatch({ metrics: { enabled: true, public: true } }));
    accepts(withPatch({ mode: 'development', metrics: { enabled: true } }));
  });

  it('refuses metrics on the public origin in production without metrics.public, naming metrics.port and both fixes', () => {
    const message = messageFor(problemsOf(withPatch({ metrics: { enabled: true } })), 'metrics.port');
    expect(message).toMatch(/^required in production/);
    expect(message).toContain('"metrics.public": true');
  });
});
