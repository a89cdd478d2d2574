import { describe, expect, it } from 'vitest';
import { envName, screamingSnake } from '../../src/config/env.js';
import { resolveConfig } from '../../src/config/load.js';
import { BASE_DIR, keysOf, MINIMUM, messageFor, problemsOf, withPatch } from './helpers.js';

const withEnv = (env: Record<string, string | undefined>, input: unknown = MINIMUM) =>
  resolveConfig(input, { baseDir: BASE_DIR, env });

describe('GATEHOUSE_* environment overrides', () => {
  it('maps camelCase keys to SCREAMING_SNAKE segments joined by __', () => {
    expect(screamingSnake('idleTimeout')).toBe('IDLE_TIMEOUT');
    expect(screamingSnake('contentSecurityPolicy')).toBe('CONTENT_SECURITY_POLICY');
    expect(envName(['session', 'cookie', 'sameSite'])).toBe('GATEHOUSE_SESSION__COOKIE__SAME_SITE');
    expect(envName(['static', 0, 'root'])).toBe('GATEHOUSE_STATIC__0__ROOT');
  });

  it('sets a number, a string and nested keys', () => {
    const config = withEnv({
      GATEHOUSE_PUBLIC_ORIGIN: 'https://app.example.com',
      GATEHOUSE_LISTEN__PORT: '9443',
      GATEHOUSE_SESSION__IDLE_TIMEOUT: '15m',
      GATEHOUSE_SESSION__COOKIE__SAME_SITE: 'lax',
      GATEHOUSE_LOCAL__THROTTLE__ACCOUNT_FAILURES: '3',
    });
    expect(config.publicOrigin).toBe('https://app.example.com');
    expect(config.listen.port).toBe(9443);
    expect(config.session.idleTimeout).toBe(15 * 60_000);
    expect(config.session.cookie.sameSite).toBe('lax');
    expect(config.local.throttle.accountFailures).toBe(3);
    // Keys the environment does not name keep their values from the file.
    expect(config.listen.host).toBe('127.0.0.1');
    expect(config.session.absoluteTimeout).toBe(12 * 3_600_000);
  });

  it('parses JSON values: booleans, arrays, objects, quoted strings', () => {
    const config = withEnv(
      {
        GATEHOUSE_MODE: '"development"',
        GATEHOUSE_LISTEN__TLS: 'false',
        GATEHOUSE_CORS__ALLOW_ORIGINS: '["http://localhost:5173","http://localhost:4173"]',
        GATEHOUSE_STATIC: '[{"path":"/docs","root":"./docs","protected":false}]',
        GATEHOUSE_HEADERS__HSTS: '{"maxAge":600}',
      },
      withPatch({ publicOrigin: 'http://localhost:8443' }),
    );
    expect(config.mode).toBe('development');
    expect(config.listen.tls).toBe(false);
    expect(config.cors.allowOrigins).toEqual(['http://localhost:5173', 'http://localhost:4173']);
    expect(config.static).toEqual([{ path: '/docs', root: '/srv/gatehouse/docs', protected: false, symlinks: 'refuse' }]);
    expect(config.headers.hsts).toEqual({ maxAge: 600, includeSubDomains: true, preload: false });
  });

  it('keeps the text when JSON would not fit a string key', () => {
    const config = withEnv({ GATEHOUSE_SESSION__COOKIE__NAME: '__Host-1', GATEHOUSE_LISTEN__HOST: '::1', GATEHOUSE_TRUST_PROXY: '1' });
    expect(config.session.cookie.name).toBe('__Host-1');
    expect(config.listen.host).toBe('::1');
    expect(config.trustProxy).toBe(1);
    expect(withEnv({ GATEHOUSE_DATA_DIR: '2024' }).dataDir).toBe('/srv/gatehouse/2024');
  });

  it('sets array entries by index and replaces a scalar on the way', () => {
    const config = withEnv({
      GATEHOUSE_STATIC__0__ROOT: '/var/files',
      GATEHOUSE_STATIC__1: '{"path":"/more","root":"more"}',
      GATEHOUSE_LISTEN__TLS__CERT: 'tls/cert.pem',
      GATEHOUSE_LISTEN__TLS__KEY: 'tls/key.pem',
    });
    expect(config.static.map((s) => s.root)).toEqual(['/var/files', '/srv/gatehouse/more']);
    expect(config.listen.tls).toEqual({ cert: '/srv/gatehouse/tls/cert.pem', key: '/srv/gatehouse/tls/key.pem' });
  });

  it('applies deeper variables over shallower ones', () => {
    const config = withEnv({ GATEHOUSE_SESSION__IDLE_TIMEOUT: '5m', GATEHOUSE_SESSION: '{"idleTimeout":"20m","absoluteTimeout":"1h"}' });
    expect(config.session.idleTimeout).toBe(5 * 60_000);
    expect(config.session.absoluteTimeout).toBe(3_600_000);
  });

  it('reports a variable that names no key, by name, with a suggestion', () => {
    const problems = problemsOf(MINIMUM, { GATEHOUSE_SESION__STORE: 'memory', GATEHOUSE_LISTEN__PORT__X: '1' });
    expect(messageFor(problems, 'GATEHOUSE_SESION__STORE')).toMatch(
      /^no such configuration key "SESION" at the top level — did you mean GATEHOUSE_SESSION__STORE\?/,
    );
    expect(messageFor(problems, 'GATEHOUSE_LISTEN__PORT__X')).toMatch(/under listen\.port\. Keys here: \(none/);
  });

  it('reports an index that would leave a gap', () => {
    expect(keysOf(MINIMUM, { GATEHOUSE_STATIC__5__ROOT: '/x' })).toEqual(['GATEHOUSE_STATIC__5__ROOT']);
  });

  it('names the variable when its value is invalid', () => {
    const problems = problemsOf(MINIMUM, { GATEHOUSE_SESSION__COOKIE__SAME_SITE: 'none', GATEHOUSE_LISTEN__PORT: 'https' });
    expect(messageFor(problems, 'session.cookie.sameSite')).toMatch(/\(value from GATEHOUSE_SESSION__COOKIE__SAME_SITE\)$/);
    expect(messageFor(problems, 'listen.port')).toBe('expected a number, got "https": write a number. (value from GATEHOUSE_LISTEN__PORT)');
  });

  it('ignores other variables and the reserved GATEHOUSE_CONFIG', () => {
    const config = withEnv({ HOME: '/root', GATEHOUSE: 'x', gatehouse_mode: 'x', GATEHOUSE_CONFIG: '/etc/gh.json', GATEHOUSE_MODE: undefined });
    expect(config.mode).toBe('production');
  });

  it('reports unknown variables together with file problems', () => {
    expect(keysOf({ ...MINIMUM, extra: 1 }, { GATEHOUSE_NOPE: '1' })).toEqual(['GATEHOUSE_NOPE', 'extra']);
  });
});
