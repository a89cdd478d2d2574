import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';

/** The minimum configuration from the issue. */
export const MINIMUM = {
  publicOrigin: 'https://localhost:8443',
  listen: { host: '127.0.0.1', port: 8443, tls: 'self-signed' },
  spa: { root: './dist' },
  static: [{ path: '/files', root: './files', protected: true }],
  session: { store: 'sqlite:./data/gatehouse.db', idleTimeout: '30m', absoluteTimeout: '12h' },
  local: { enabled: true },
} satisfies GatehouseConfigInput;

export const BASE_DIR = '/srv/gatehouse';

/** The minimum configuration with `patch` merged in one level deep per section. */
export function withPatch(patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = structuredClone(MINIMUM);
  for (const [key, value] of Object.entries(patch)) {
    const current = result[key];
    const merge =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object' && !Array.isArray(current);
    result[key] = merge ? { ...(current as object), ...value } : value;
  }
  return result;
}

/** The problems resolveConfig reports (fails the test when it does not throw a ConfigError). */
export function problemsOf(input: unknown, env: Record<string, string | undefined> = {}): ConfigProblem[] {
  try {
    resolveConfig(input, { baseDir: BASE_DIR, env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

/** The keys of the reported problems. */
export function keysOf(input: unknown, env: Record<string, string | undefined> = {}): string[] {
  return problemsOf(input, env).map((p) => p.key);
}

/** The message of the one problem reported for `key`. */
export function messageFor(problems: ConfigProblem[], key: string): string {
  const found = problems.filter((p) => p.key === key);
  if (found.length !== 1) throw new Error(`expected one problem for ${key}, got ${JSON.stringify(problems, null, 2)}`);
  return (found[0] as ConfigProblem).message;
}
