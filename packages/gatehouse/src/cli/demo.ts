import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import type { GatehouseConfig } from '../config/schema.js';
import { DEMO_API_AUDIENCE } from '../demo/api.js';
import { startDemoProvider } from '../demo/provider.js';
import type { Gatehouse } from '../server.js';
import { loadOrCreateSelfSigned } from '../tls/self-signed.js';
import { startGatehouse, waitForShutdown } from '../start.js';
import { type SessionMode, sessionModeFlag, sessionModeLine } from './session-mode-flag.js';

/** The demo's own files (SPA and protected files), shipped with the package. */
export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

export const DEMO_USERNAME = 'demo';

/** Starts the demo API in a process of its own and resolves with its origin. */
async function forkDemoApi(env: Record<string, string>): Promise<{ origin: string; close(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('../demo/api-process.js', import.meta.url)), [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const origin = await new Promise<string>((resolveOrigin, reject) => {
    child.once('message', (message) => resolveOrigin((message as { origin: string }).origin));
    child.once('exit', (code) => reject(new Error(`the demo API process exited (${code})`)));
  });
  return {
    origin,
    close: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
const DEMO_CLIENT_ID = 'gatehouse-demo';
/** Only the in-process demo provider knows it; it never leaves this machine. */
const DEMO_CLIENT_SECRET = randomBytes(24).toString('base64url');

/** The demo's session timeouts unless `--idle-timeout` / `--absolute-timeout` say otherwise. */
export const DEMO_SESSION = { idleTimeout: '30m', absoluteTimeout: '12h' } as const;

export const DEMO_USAGE =
  'gatehouse demo [--port 8443] [--host 127.0.0.1] [--data .gatehouse-demo] [--idle-timeout 30m] [--absolute-timeout 12h] [--session-mode server|cookie]';

/** The schema's default `session.revalidateEvery`, which cookie mode wants at most half the idle timeout. */
const DEFAULT_REVALIDATE_MS = 5 * 60_000;

/** A flag of `gatehouse demo` the user got wrong: printed with the usage, exit 2. */
export class DemoUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoUsageError';
  }
}

/** The flags of `gatehouse demo`, checked. */
export interface DemoFlags {
  port: number;
  host: string;
  data: string;
  session: { idleTimeout: string; absoluteTimeout: string };
  sessionMode: SessionMode;
}

/**
 * `gatehouse demo`'s flags, checked before anything starts.
 * @throws {DemoUsageError} naming the flag; parseArgs' own errors (`ERR_PARSE_ARGS_*`) for unknown flags.
 */
export function demoFlags(args: string[]): DemoFlags {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.gatehouse-demo' },
      // Short sessions, to watch the SPA's expiry notice and sign-out (and for the browser tests).
      'idle-timeout': { type: 'string' },
      'absolute-timeout': { type: 'string' },
      'session-mode': { type: 'string', default: 'server' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new DemoUsageError(`--port ${values.port}: not a port number`);
  const mode = sessionModeFlag(values['session-mode']);
  if ('problem' in mode) throw new DemoUsageError(mode.problem);
  const session = demoSession(values['idle-timeout'], values['absolute-timeout']);
  return { port, host: values.host, data: values.data, session, sessionMode: mode.mode };
}

/** The demo's configuration: the issue's minimum config, pointed at the shipped demo files. */
export function demoConfig(options: {
  port: number;
  host: string;
  dataDir: string;
  issuer?: string;
  api?: string;
  session?: { idleTimeout: string; absoluteTimeout: string };
  /** `session.mode`; default "server". */
  sessionMode?: SessionMode;
}): GatehouseConfig {
  const session = options.session ?? DEMO_SESSION;
  return resolveConfig(
    {
      publicOrigin: `https://localhost:${options.port}`,
      dataDir: options.dataDir,
      listen: { host: options.host, port: options.port, tls: 'self-signed' },
      spa: { root: resolve(DEMO_DIR, 'spa') },
      static: [{ path: '/files', root: resolve(DEMO_DIR, 'files'), protected: true }],
      session: { ...session, mode: options.sessionMode ?? 'server', ...demoRevalidation(options.sessionMode, session.idleTimeout) },
      local: { enabled: true },
      // The demo API is an upstream on its own port: it gets an internal token, never the cookie.
      apis: options.api
        ? [{ path: '/api/demo', upstream: options.api, auth: 'required', token: 'internal', audience: DEMO_API_AUDIENCE, methods: ['GET'] }]
        : [],
      providers: options.issuer
        ? [
            {
              id: 'demo',
              name: 'Demo OpenID Provider',
              issuer: options.issuer,
              clientId: DEMO_CLIENT_ID,
              clientSecret: DEMO_CLIENT_SECRET,
              allowHttpIssuer: true,
              scopes: ['openid', 'profile', 'email', 'offline_access'],
              claims: { roles: 'roles' },
              // The demo shows the strict end of the trade-off: not even the ID token crosses the
              // browser at logout (client_id only; the demo provider then asks to confirm).
              logoutIdTokenHint: false,
            },
          ]
        : [],
      logLevel: 'warn',
    },
    { baseDir: process.cwd(), env: {}, source: 'demo configuration' },
  );
}

/** `gatehouse demo`: everything embedded, no set-up. Prints what to open and the credentials. */
export async function runDemo(args: string[]): Promise<number> {
  let flags: DemoFlags;
  try {
    flags = demoFlags(args);
  } catch (error) {
    if (!(error instanceof DemoUsageError) && !isParseArgsError(error)) throw error;
    process.stderr.write(`gatehouse demo: ${(error as Error).message}\nusage: ${DEMO_USAGE}\n`);
    return 2;
  }
  const { port, session } = flags;
  const publicOrigin = `https://localhost:${port}`;
  // The demo's own OpenID provider, on another loopback port: the federated flow with no set-up.
  const idp = await startDemoProvider({
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    redirectUris: [`${publicOrigin}/auth/callback/demo`],
    postLogoutRedirectUris: [`${publicOrigin}/`],
    accounts: [{ sub: 'grace', name: 'Grace Hopper', email: 'grace@demo.test', emailVerified: true, roles: ['user'] }],
  });
  const dataDir = resolve(flags.data);
  // The demo API upstream verifies tokens against the gateway's JWKS over HTTPS, trusting the
  // demo's own certificate (generated here first, then reused by the gateway).
  const tls = await loadOrCreateSelfSigned(dataDir);
  const api = await forkDemoApi({
    DEMO_API_ISSUER: publicOrigin,
    DEMO_API_JWKS_URL: `https://127.0.0.1:${port}/.well-known/jwks.json`,
    DEMO_API_CA_FILE: tls.certFile,
  });
  const config = demoConfig({ port, host: flags.host, dataDir, issuer: idp.issuer, api: api.origin, session, sessionMode: flags.sessionMode });
  const gatehouse = await startGatehouse(config);
  const password = await resetDemoUser(gatehouse);
  process.stdout.write(
    [
      '',
      `Gatehouse demo is running: ${config.publicOrigin}/`,
      '(a self-signed certificate for localhost: accept the browser warning, or trust',
      ` ${resolve(config.dataDir, 'tls/localhost.crt')})`,
      '',
      'Sign in with',
      `  username: ${DEMO_USERNAME}`,
      `  password: ${password}`,
      `or with the demo OpenID provider (${idp.issuer}): any username, any password;`,
      '  "grace" has a name, an email and a role.',
      '',
      `The demo API (/api/demo/hello) is a separate upstream process on ${api.origin}: it verifies`,
      `  Gatehouse's internal token against ${config.publicOrigin}/.well-known/jwks.json.`,
      '',
      `Sessions end after ${session.idleTimeout} unused or ${session.absoluteTimeout} after sign-in (--idle-timeout, --absolute-timeout).`,
      sessionModeLine(config),
      `Data (SQLite, keys, certificate): ${config.dataDir}`,
      'Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
  await waitForShutdown(gatehouse);
  await api.close();
  await idp.close();
  return 0;
}

/**
 * The session timeouts from the flags (durations like `45s`, `5m`, `12h`). A shorter absolute
 * timeout alone also shortens the idle one, which may not be longer.
 */
function demoSession(idle: string | undefined, absolute: string | undefined): { idleTimeout: string; absoluteTimeout: string } {
  for (const [flag, value] of [['--idle-timeout', idle], ['--absolute-timeout', absolute]] as const) {
    if (value !== undefined && parseDuration(value) === null) throw new DemoUsageError(`${flag} ${value}: not a duration (e.g. 30s, 5m, 12h)`);
  }
  const absoluteTimeout = absolute ?? DEMO_SESSION.absoluteTimeout;
  const idleTimeout =
    idle ?? ((parseDuration(absoluteTimeout) as number) < (parseDuration(DEMO_SESSION.idleTimeout) as number) ? absoluteTimeout : DEMO_SESSION.idleTimeout);
  return { idleTimeout, absoluteTimeout };
}

/**
 * Cookie mode keeps the stored session alive only at its checks, so config validation wants
 * `revalidateEvery` at most half the idle timeout: with a short `--idle-timeout` the demo checks
 * that much more often instead of refusing to start. Server mode has nothing to set.
 */
function demoRevalidation(mode: SessionMode | undefined, idleTimeout: string): { revalidateEvery?: string } {
  if (mode !== 'cookie') return {};
  const half = Math.floor((parseDuration(idleTimeout) as number) / 2);
  return half < DEFAULT_REVALIDATE_MS ? { revalidateEvery: `${Math.max(1, half)}ms` } : {};
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** A fresh random password for the demo user on every start, printed once. */
async function resetDemoUser(gatehouse: Gatehouse): Promise<string> {
  const accounts = gatehouse.local?.accounts;
  if (!accounts) throw new Error('the demo needs local accounts');
  const password = randomBytes(12).toString('base64url');
  if (await accounts.findByUsername(DEMO_USERNAME)) {
    await accounts.setPassword(DEMO_USERNAME, password);
  } else {
    await accounts.add({ username: DEMO_USERNAME, password, name: 'Demo User', roles: ['user'] });
  }
  return password;
}
