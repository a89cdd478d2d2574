import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { applyEnvOverrides } from './env.js';
import { problemsFromIssues } from './issues.js';
import { configSchema, type GatehouseConfig, type ParsedConfig } from './schema.js';
import { checkServedRoots, type PartialConfig, validateConfig } from './validate.js';
import { deepFreeze } from '../util/deep-freeze.js';

/**
 * Configuration loading: file → environment overrides → schema → unsafe combinations → paths
 * resolved → frozen. Every problem of every stage is collected into one {@link ConfigError}, so one
 * run of `gatehouse config check` shows them all.
 */

/** Options of {@link resolveConfig}. */
export interface ResolveOptions {
  /** Relative paths (`dataDir`, `spa.root`, `static[].root`, TLS files, sqlite stores) resolve against it. */
  baseDir: string;
  /** `GATEHOUSE_*` overrides are read from here. Default: none (pass `process.env` to apply them). */
  env?: Record<string, string | undefined>;
  /** Names the configuration in the error message, e.g. the file path. */
  source?: string;
}

const CHECK_HINT = 'gatehouse config check --config FILE';

/** A copy of `value` without the `keys` of the object at `path` (copy-on-write; the input is not mutated). */
function without(value: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path;
  if (head === undefined) {
    return Array.isArray(value) ? value : Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
  }
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<PropertyKey, unknown>;
  copy[head] = without(copy[head], rest, keys);
  return copy;
}

/**
 * The sections of `input` that pass the schema once unknown keys are dropped, so the combination
 * checks still run on them: a typo and `sameSite: "none"` in one section are reported together.
 */
function salvage(input: unknown, issues: readonly z.core.$ZodIssue[]): PartialConfig {
  let stripped = input;
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') stripped = without(stripped, issue.path, issue.keys);
  }
  if (typeof stripped !== 'object' || stripped === null || Array.isArray(stripped)) return {};
  const sections: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const result = schema.safeParse((stripped as Record<string, unknown>)[key]);
    if (result.success) sections[key] = result.data;
  }
  return sections as PartialConfig;
}

/** Appends the environment variable a problem's value came from, so the operator looks in the right place. */
function attribute(problems: ConfigProblem[], sources: Map<string, string>): ConfigProblem[] {
  return problems.map((problem) => {
    for (const [key, variable] of sources) {
      const under = problem.key === key || problem.key.startsWith(`${key}.`) || problem.key.startsWith(`${key}[`);
      if (under) return { key: problem.key, message: `${problem.message} (value from ${variable})` };
    }
    return problem;
  });
}

/** `undefined` → the default database in dataDir; `sqlite:<relative>` → absolute; `memory`, `sqlite::memory:` as is. */
function resolveStore(store: string | undefined, baseDir: string, dataDir: string): string {
  if (store === undefined) return `sqlite:${join(dataDir, 'gatehouse.db')}`;
  if (store === 'memory' || store === 'sqlite::memory:' || !store.startsWith('sqlite:')) return store;
  return `sqlite:${resolve(baseDir, store.slice('sqlite:'.length))}`;
}

function resolvePaths(config: ParsedConfig, baseDir: string): GatehouseConfig {
  const dataDir = resolve(baseDir, config.dataDir);
  const { tls } = config.listen;
  const allowOrigins = config.cors.allowOrigins;
  return {
    ...config,
    publicOrigin: new URL(config.publicOrigin).origin,
    dataDir,
    listen: {
      ...config.listen,
      tls: typeof tls === 'object' ? { cert: resolve(baseDir, tls.cert), key: resolve(baseDir, tls.key) } : tls,
    },
    spa: config.spa && { ...config.spa, root: config.spa.root === undefined ? undefined : resolve(baseDir, config.spa.root) },
    static: config.static.map((entry) => ({ ...entry, root: resolve(baseDir, entry.root) })),
    providers: config.providers.map((p) =>
      p.privateKeyJwt ? { ...p, privateKeyJwt: { ...p.privateKeyJwt, keyFile: resolve(baseDir, p.privateKeyJwt.keyFile) } } : p,
    ),
    session: { ...config.session, store: resolveStore(config.session.store, baseDir, dataDir) },
    local: { ...config.local, store: resolveStore(config.local.store, baseDir, dataDir) },
    cors: {
      ...config.cors,
      allowOrigins: Array.isArray(allowOrigins) ? allowOrigins.map((o) => new URL(o).origin) : allowOrigins,
    },
  };
}


/**
 * Validates a configuration object and returns it resolved and deeply frozen.
 *
 * Applies `GATEHOUSE_*` overrides from `options.env`, parses with the schema (unknown keys are
 * errors), refuses unsafe combinations, then resolves paths against `options.baseDir`, fills the
 * store defaults (`sqlite:<dataDir>/gatehouse.db`) and normalizes `publicOrigin`.
 *
 * @throws {ConfigError} listing every problem at once, each with its key and the fix.
 */
export function resolveConfig(input: unknown, options: ResolveOptions): GatehouseConfig {
  const overrides = applyEnvOverrides(input, options.env ?? {}, configSchema);
  const result = configSchema.safeParse(overrides.input, { reportInput: true });
  const problems = [
    ...overrides.problems,
    ...(result.success
      ? validateConfig(result.data)
      : [...problemsFromIssues(result.error.issues, configSchema), ...validateConfig(salvage(overrides.input, result.error.issues))]),
  ];
  if (!result.success || problems.length > 0) {
    throw new ConfigError(attribute(problems, overrides.sources), options.source);
  }
  const resolved = resolvePaths(result.data, resolve(options.baseDir));
  const rootProblems = checkServedRoots(resolved);
  if (rootProblems.length > 0) throw new ConfigError(rootProblems, options.source);
  return deepFreeze(resolved);
}

/** A JSON syntax error as "line L, column C: reason", from V8's "… at position N" message. */
function describeSyntaxError(error: SyntaxError, text: string): string {
  const reason = error.message
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of file');
  const match = / at position (\d+)/.exec(error.message);
  const position = match ? Number(match[1]) : reason === 'unexpected end of file' ? text.length : undefined;
  if (position === undefined) return reason;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${reason}`;
}

/**
 * Reads a JSON configuration file and resolves it with {@link resolveConfig}; relative paths are
 * relative to the file's directory. `GATEHOUSE_*` variables of `env` override keys of the file.
 *
 * @throws {ConfigError} when the file is missing, unreadable, not JSON, or invalid.
 */
export function loadConfig(file: string, env: Record<string, string | undefined> = process.env): GatehouseConfig {
  const { input, path } = readConfigFile(file);
  return resolveConfig(input, { baseDir: dirname(path), env, source: path });
}

/**
 * The parsed JSON of a configuration file, not yet validated (for callers that overlay
 * settings of their own, such as `gatehouse dev`), and its absolute path.
 *
 * @throws {ConfigError} when the file is missing, unreadable or not JSON.
 */
export function readConfigFile(file: string): { input: unknown; path: string } {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code ?? error);
    const message = `cannot read ${path}: ${what}. Pass the path of your JSON configuration file, and check it with \`${CHECK_HINT}\`.`;
    throw new ConfigError([{ key: '', message }], path);
  }
  let input: unknown;
  try {
    input = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const where = error instanceof SyntaxError ? describeSyntaxError(error, text.replace(/^\uFEFF/, '')) : String(error);
    const message = `${path} is not valid JSON (${where}). Fix the syntax (JSON allows no comments and no trailing commas), then run \`${CHECK_HINT}\`.`;
    throw new ConfigError([{ key: '', message }], path);
  }
  return { input, path };
}
