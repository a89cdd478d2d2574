import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { BASE_DIR, MINIMUM } from './helpers.js';

describe('resolveConfig', () => {
  it('loads the minimum configuration with durations in ms and absolute paths', () => {
    const config = resolveConfig(MINIMUM, { baseDir: BASE_DIR });
    expect(config.mode).toBe('production');
    expect(config.publicOrigin).toBe('https://localhost:8443');
    expect(config.listen).toEqual({
      host: '127.0.0.1',
      port: 8443,
      tls: 'self-signed',
      handshakeTimeout: 5_000,
      firstRequestTimeout: 10_000,
      headersTimeout: 20_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      sendTimeout: 60_000,
      maxConnections: 4096,
      shutdownTimeout: 10_000,
    });
    expect(config.dataDir).toBe('/srv/gatehouse/data');
    expect(config.spa).toEqual({ root: '/srv/gatehouse/dist', index: 'index.html', symlinks: 'refuse' });
    expect(config.static).toEqual([{ path: '/files', root: '/srv/gatehouse/files', protected: true, symlinks: 'refuse' }]);
    expect(config.session.idleTimeout).toBe(30 * 60_000);
    expect(config.session.absoluteTimeout).toBe(12 * 3_600_000);
    expect(config.session.store).toBe('sqlite:/srv/gatehouse/data/gatehouse.db');
    expect(config.session.cookie).toMatchObject({ name: '__Host-gatehouse', sameSite: 'strict', secure: true, httpOnly: true, path: '/' });
    expect(config.local.enabled).toBe(true);
    expect(config.local.store).toBe('sqlite:/srv/gatehouse/data/gatehouse.db');
    expect(config.local.throttle).toEqual({ accountFailures: 5, addressFailures: 50, window: 900_000, lockout: 60_000, maxLockout: 900_000, ipv6Prefix: 56 });
    expect(config.cors.allowOrigins).toEqual([]);
    expect(config.auth).toEqual({ prefix: '/auth', loginPage: '/' });
  });

  it('returns a deeply frozen object', () => {
    const config = resolveConfig(MINIMUM, { baseDir: BASE_DIR });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.session.cookie)).toBe(true);
    expect(Object.isFrozen(config.static)).toBe(true);
    expect(Object.isFrozen(config.static[0])).toBe(true);
    expect(Object.isFrozen(config.local.throttle)).toBe(true);
    expect(() => {
      (config.session.cookie as { sameSite: string }).sameSite = 'none';
    }).toThrow(TypeError);
    expect(() => {
      (config.static as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('does not modify its input', () => {
    const input = structuredClone(MINIMUM);
    resolveConfig(input, { baseDir: BASE_DIR, env: { GATEHOUSE_LISTEN__PORT: '9443' } });
    expect(input).toEqual(MINIMUM);
  });

  it('resolves stores: default, relative sqlite, absolute sqlite, memory', () => {
    const resolve = (session: Record<string, unknown>, local: Record<string, unknown>, dataDir?: string) =>
      resolveConfig({ ...MINIMUM, session, local, ...(dataDir ? { dataDir } : {}) }, { baseDir: BASE_DIR });
    const a = resolve({}, {}, 'state');
    expect(a.session.store).toBe('sqlite:/srv/gatehouse/state/gatehouse.db');
    expect(a.local.store).toBe('sqlite:/srv/gatehouse/state/gatehouse.db');
    const b = resolve({ store: 'memory' }, { store: 'sqlite:/var/lib/gh/accounts.db' });
    expect(b.session.store).toBe('memory');
    expect(b.local.store).toBe('sqlite:/var/lib/gh/accounts.db');
    const c = resolve({ store: 'sqlite::memory:' }, { store: 'sqlite:../shared/accounts.db' });
    expect(c.session.store).toBe('sqlite::memory:');
    expect(c.local.store).toBe('sqlite:/srv/shared/accounts.db');
  });

  it('resolves TLS files against baseDir and normalizes origins', () => {
    const config = resolveConfig(
      {
        ...MINIMUM,
        mode: 'development',
        publicOrigin: 'HTTPS://App.Example.com:443/',
        listen: { tls: { cert: 'tls/cert.pem', key: '/etc/gh/key.pem' } },
        cors: { allowOrigins: ['http://localhost:5173/'] },
      },
      { baseDir: BASE_DIR },
    );
    expect(config.publicOrigin).toBe('https://app.example.com');
    expect(config.listen.tls).toEqual({ cert: '/srv/gatehouse/tls/cert.pem', key: '/etc/gh/key.pem' });
    expect(config.cors.allowOrigins).toEqual(['http://localhost:5173']);
  });

  it('names the source in the error message and lists each problem', () => {
    try {
      resolveConfig({ ...MINIMUM, mode: 'prod' }, { baseDir: BASE_DIR, source: 'gatehouse.json' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^Invalid gatehouse\.json:\n {2}- mode: must be one of "production", "development" \(got "prod"\)/);
    }
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const load = (file: string) => {
    try {
      loadConfig(file, {});
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('reads the file and resolves paths against its directory', () => {
    const file = join(dir, 'gatehouse.json');
    writeFileSync(file, `\uFEFF${JSON.stringify({ $schema: './node_modules/gatehouse/gatehouse.schema.json', ...MINIMUM })}`);
    const config = loadConfig(file, { GATEHOUSE_LOG_LEVEL: 'debug', PATH: '/usr/bin' });
    expect(config.spa?.root).toBe(join(dir, 'dist'));
    expect(config.session.store).toBe(`sqlite:${join(dir, 'data/gatehouse.db')}`);
    expect(config.logLevel).toBe('debug');
  });

  it('reports a missing file with its path and the check command', () => {
    const file = join(dir, 'missing.json');
    const error = load(file);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(file);
    expect(error.problems[0]?.message).toContain('no such file');
    expect(error.problems[0]?.message).toContain('gatehouse config check --config FILE');
  });

  it('reports invalid JSON with the file, line and column', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "publicOrigin": "https://app.example.com",\n  "mode": "production",\n}\n');
    const error = load(file);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.message).toContain(file);
    expect(error.problems[0]?.message).toMatch(/line 4, column 1: Expected double-quoted property name/);
  });

  it('reports a truncated file', () => {
    const file = join(dir, 'truncated.json');
    writeFileSync(file, '{\n  "publicOrigin": ');
    expect(load(file).problems[0]?.message).toMatch(/line 2, column 19: unexpected end of file/);
  });

  it('reports a file that is JSON but not an object', () => {
    const file = join(dir, 'array.json');
    writeFileSync(file, '[]');
    expect(load(file).problems).toEqual([{ key: '', message: 'expected an object, got an array: write an object.' }]);
  });
});
