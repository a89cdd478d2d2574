import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { createGatehouse, type Gatehouse, type GatehouseDeps } from '../../src/server.js';

export const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
export const ORIGIN = 'https://gatehouse.test';
export const PASSWORD = 'correct horse battery staple';
export const START = Date.UTC(2026, 0, 1, 9, 0, 0);

/** A test clock: tests move time instead of sleeping. */
export interface TestClock {
  (): number;
  advance(ms: number): void;
}

export function testClock(start = START): TestClock {
  let now = start;
  const clock = (() => now) as TestClock;
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

export interface TestGateway {
  gatehouse: Gatehouse;
  clock: TestClock;
  inject: Gatehouse['app']['inject'];
  close(): Promise<void>;
}

/** The base config of the integration tests: the minimum config on a memory store. */
export function testConfigInput(overrides: Partial<GatehouseConfigInput> = {}): GatehouseConfigInput {
  return {
    mode: 'development',
    publicOrigin: ORIGIN,
    listen: { host: '127.0.0.1', port: 0, tls: false },
    spa: { root: './spa' },
    static: [
      { path: '/files', root: './files', protected: true },
      { path: '/admin', root: './admin', protected: true, roles: ['admin'] },
    ],
    session: { store: 'memory', idleTimeout: '30m', absoluteTimeout: '12h' },
    local: { enabled: true, store: 'memory' },
    logLevel: 'silent',
    ...overrides,
  };
}

/** A gateway with a memory store, a fake clock, and users alice and bob (password {@link PASSWORD}). */
export async function testGateway(
  overrides: Partial<GatehouseConfigInput> = {},
  deps: GatehouseDeps = {},
): Promise<TestGateway> {
  const clock = testClock();
  const config = resolveConfig(testConfigInput(overrides), { baseDir: SITE, env: {} });
  const gatehouse = await createGatehouse(config, {
    clock,
    keys: createKeyRing([generateKey()]),
    logger: false,
    ...deps,
  });
  const accounts = gatehouse.local?.accounts;
  if (accounts) {
    await accounts.add({ username: 'alice', password: PASSWORD, name: 'Alice', roles: ['user'] });
    await accounts.add({ username: 'bob', password: PASSWORD, name: 'Bob', roles: ['user', 'admin'] });
  }
  await gatehouse.app.ready();
  return { gatehouse, clock, inject: gatehouse.app.inject.bind(gatehouse.app), close: () => gatehouse.close() };
}

/** Headers of a same-origin fetch from the SPA (what the browser sends for fetch with X-CSRF). */
export const SAME_ORIGIN = { origin: ORIGIN, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'x-csrf': '1' } as const;

/** Logs in through the API and returns the session cookie pair `name=value`. */
export async function login(gw: TestGateway, username = 'alice', password = PASSWORD, headers: Record<string, string> = {}): Promise<string> {
  const res = await gw.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { ...SAME_ORIGIN, ...headers },
    payload: { username, password },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return sessionCookieFrom(res);
}

/** The `name=value` of the Set-Cookie for the session cookie. */
export function sessionCookieFrom(res: LightMyRequestResponse): string {
  const all = [res.headers['set-cookie'] ?? []].flat();
  const header = all.find((c) => c.startsWith('__Host-gatehouse='));
  if (!header) throw new Error('no session cookie set');
  // Cookie mode splits a large session into `__Host-gatehouse-c<n>` parts: the browser sends them all.
  const parts = all.filter((c) => /^__Host-gatehouse-c[1-9]=[^;]/.test(c)).map((c) => c.split(';', 1)[0] as string);
  return [header.split(';', 1)[0] as string, ...parts].join('; ');
}

export function setCookies(res: LightMyRequestResponse): string[] {
  return [res.headers['set-cookie'] ?? []].flat();
}
