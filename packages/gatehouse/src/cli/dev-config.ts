import { dirname, resolve } from 'node:path';
import { readConfigFile, resolveConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { type SessionMode, sessionModeFlag } from './session-mode-flag.js';

/**
 * `gatehouse dev`'s configuration: built from its flags, or a `--config` file with the flags laid
 * over it. Validated by the same {@link resolveConfig} as `gatehouse start`; problems that come
 * from a flag are reported under the flag's name.
 */

/** The flags of `gatehouse dev`, as given (undefined: not given). */
export interface DevFlags {
  upstreamSpa?: string | undefined;
  /** Each `--api PATH=URL`. */
  api: readonly string[];
  port?: string | undefined;
  host?: string | undefined;
  data?: string | undefined;
  config?: string | undefined;
  /** `--session-mode server|cookie`: `session.mode`. */
  sessionMode?: string | undefined;
}

/** A flag the user got wrong: the CLI prints it and exits 2. */
export class DevUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevUsageError';
  }
}

export const DEV_DEFAULTS = { port: 8443, host: '127.0.0.1', data: '.gatehouse-dev' } as const;

/** What {@link devConfig} built. */
export interface DevConfig {
  config: GatehouseConfig;
  /** The configuration as written (before defaults), for `gatehouse users … --config`. */
  input: Record<string, unknown>;
  /** The `--config` file, when one was given. */
  file: string | undefined;
  /** True when that file said (or defaulted to) `mode: "production"`: the operator is told it was switched. */
  downgraded: boolean;
}

type Input = Record<string, unknown>;
const isObject = (value: unknown): value is Input => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `/api=http://localhost:3000` → path and upstream; the split is at the first "=". */
function parseApiFlag(value: string): { path: string; upstream: string } {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) {
    throw new DevUsageError(`--api ${value}: write PATH=URL, e.g. --api /api=http://localhost:3000`);
  }
  return { path: value.slice(0, eq), upstream: value.slice(eq + 1) };
}

function parseSessionMode(value: string): SessionMode {
  const parsed = sessionModeFlag(value);
  if ('problem' in parsed) throw new DevUsageError(parsed.problem);
  return parsed.mode;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new DevUsageError(`--port ${value}: not a port number (1-65535), e.g. --port 8443`);
  return port;
}

/**
 * The resolved configuration of `gatehouse dev`. Without `--config`: HTTPS on
 * https://localhost:PORT with the generated certificate, `spa.upstream`, one API route per
 * `--api` (auth "required", token "none"), local accounts, SQLite in `--data`, `session.mode` from
 * `--session-mode` (default "server"). With `--config`: that file, in development mode, with only
 * what the flags give replaced (`--api` replaces the route of the same path's upstream, or adds a
 * route; `--session-mode` sets `session.mode` and nothing else of `session`).
 *
 * @throws {DevUsageError} for a wrong or missing flag (every problem a flag caused, named by the flag).
 * @throws {ConfigError} for problems of the `--config` file itself.
 */
export function devConfig(flags: DevFlags, env: Record<string, string | undefined>): DevConfig {
  const apis = flags.api.map(parseApiFlag);
  const port = flags.port === undefined ? undefined : parsePort(flags.port);
  if (flags.host !== undefined && flags.host.trim() === '') throw new DevUsageError('--host: give an address, e.g. --host 127.0.0.1');
  const sessionMode = flags.sessionMode === undefined ? undefined : parseSessionMode(flags.sessionMode);
  // Flag values are relative to the working directory, the file's to the file.
  const dataDir = flags.data === undefined ? undefined : resolve(flags.data);
  /** Which flag each configuration key came from, to name it in problems. */
  const origins: { key: string; flag: string }[] = [];
  let input: Input;
  let file: string | undefined;
  let downgraded = false;
  let baseDir = process.cwd();
  if (flags.config === undefined) {
    const p = port ?? DEV_DEFAULTS.port;
    input = {
      mode: 'development',
      publicOrigin: `https://localhost:${p}`,
      dataDir: dataDir ?? resolve(DEV_DEFAULTS.data),
      listen: { host: flags.host ?? DEV_DEFAULTS.host, port: p, tls: 'self-signed' },
      local: { enabled: true },
      // HSTS is per host, whatever the port (RFC 6797 §8.3): on localhost it would turn every other
      // local http:// server (the dev server itself, at http://localhost:5173) into https.
      headers: { hsts: { maxAge: 0 } },
      logLevel: 'warn',
    };
  } else {
    const read = readConfigFile(flags.config);
    if (!isObject(read.input)) throw new ConfigError([{ key: '', message: 'the file must hold a JSON object.' }], read.path);
    file = read.path;
    baseDir = dirname(read.path);
    input = structuredClone(read.input);
    downgraded = input.mode !== 'development';
    // `gatehouse dev` is development by definition: `spa.upstream` is refused in production.
    input.mode = 'development';
    const listen = isObject(input.listen) ? { ...input.listen } : {};
    if (port !== undefined) {
      listen.port = port;
      input.publicOrigin = withPort(input.publicOrigin, port);
    }
    if (flags.host !== undefined) listen.host = flags.host;
    input.listen = listen;
    if (dataDir !== undefined) input.dataDir = dataDir;
  }
  if (port !== undefined) origins.push({ key: 'listen.port', flag: `--port ${flags.port}` }, { key: 'publicOrigin', flag: `--port ${flags.port}` });
  if (flags.host !== undefined) origins.push({ key: 'listen.host', flag: `--host ${flags.host}` });
  if (flags.data !== undefined) origins.push({ key: 'dataDir', flag: `--data ${flags.data}` });
  if (sessionMode !== undefined) {
    // Only the mode: the file's store, timeouts and revalidateEvery stay as written.
    input.session = { ...(isObject(input.session) ? input.session : {}), mode: sessionMode };
    origins.push({ key: 'session.mode', flag: `--session-mode ${flags.sessionMode}` });
  }

  const spa = isObject(input.spa) ? { ...input.spa } : {};
  if (flags.upstreamSpa !== undefined) {
    // The dev server replaces a built directory the file may name.
    delete spa.root;
    spa.upstream = flags.upstreamSpa;
    origins.push({ key: 'spa.upstream', flag: `--upstream-spa ${flags.upstreamSpa}` });
  } else if (spa.upstream === undefined) {
    throw new DevUsageError('--upstream-spa URL is required: the dev server of your SPA, e.g. --upstream-spa http://localhost:5173');
  }
  input.spa = spa;

  const routes = Array.isArray(input.apis) ? [...(input.apis as unknown[])] : [];
  for (const [i, api] of apis.entries()) {
    const at = routes.findIndex((route) => isObject(route) && route.path === api.path);
    const index = at === -1 ? routes.length : at;
    // A route the file already has keeps its auth, token and the rest: only the upstream moves.
    routes[index] = at === -1 ? { path: api.path, upstream: api.upstream, auth: 'required', token: 'none' } : { ...(routes[at] as Input), upstream: api.upstream };
    origins.push({ key: `apis[${index}]`, flag: `--api ${flags.api[i]}` });
  }
  if (routes.length > 0 || input.apis !== undefined) input.apis = routes;

  try {
    const config = resolveConfig(input, { baseDir, env: file === undefined ? {} : env, source: file ?? 'gatehouse dev flags' });
    return { config, input, file, downgraded };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw attributeToFlags(error, origins, file);
  }
}

/** A `DevUsageError` when any problem comes from a flag (each then named by its flag); else the error itself. */
function attributeToFlags(error: ConfigError, origins: readonly { key: string; flag: string }[], file: string | undefined): Error {
  const fromFlag = (problem: ConfigProblem) =>
    origins.find(({ key }) => problem.key === key || problem.key.startsWith(`${key}.`) || problem.key.startsWith(`${key}[`));
  if (!error.problems.some(fromFlag)) return error;
  const lines = error.problems.map((problem) => {
    const origin = fromFlag(problem);
    return origin ? `  - ${origin.flag} (${problem.key}): ${problem.message}` : `  - ${problem.key || '(root)'}${file ? ` in ${file}` : ''}: ${problem.message}`;
  });
  return new DevUsageError(`invalid flags:\n${lines.join('\n')}`);
}

/** The public origin with another port (https://localhost when the file has none; left as it is when it is not a URL: validation reports it). */
function withPort(origin: unknown, port: number): unknown {
  if (origin === undefined) return `https://localhost:${port}`;
  if (typeof origin !== 'string' || !URL.canParse(origin)) return origin;
  const url = new URL(origin);
  url.port = String(port);
  return url.origin;
}
