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

/** The demo's configuration: the issue's minimum config, pointed at the shipped demo files. */
export function demoConfig(options: {
  port: number;
  host: string;
  dataDir: string;
  issuer?: string;
  api?: string;
  session?: { idleTimeout: string; absoluteTimeout: string };
}): GatehouseConfig {
  return resolveConfig(
    {
      publicOrigin: `https://localhost:${options.port}`,
      dataDir: options.dataDir,
      listen: { host: options.host, port: options.port, tls: 'self-signed' },
      spa: { root: resolve(DEMO_DIR, 'spa') },
      static: [{ path: '/files', root: resolve(DEMO_DIR, 'files'), protected: true }],
      session: { ...(options.session ?? DEMO_SESSION) },
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
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.gatehouse-demo' },
      // Short sessions, to watch the SPA's expiry notice and sign-out (and for the browser tests).
      'idle-timeout': { type: 'string' },
      'absolute-timeout': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
  const session = demoSession(values['idle-timeout'], values['absolute-timeout']);
  const publicOrigin = `https://localhost:${port}`;
  // The demo's own OpenID provider, on another loopback port: the federated flow with no set-up.
  const idp = await startDemoProvider({
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    redirectUris: [`${publicOrigin}/auth/callback/demo`],
    postLogoutRedirectUris: [`${publicOrigin}/`],
    accounts: [{ sub: 'grace', name: 'Grace Hopper', email: 'grace@demo.test', emailVerified: true, roles: ['user'] }],
  });
  const dataDir = resolve(values.data);
  // The demo API upstream verifies tokens against the gateway's JWKS over HTTPS, trusting the
  // demo's own certificate (generated here first, then reused by the gateway).
  const tls = await loadOrCreateSelfSigned(dataDir);
  const api = await forkDemoApi({
    DEMO_API_ISSUER: publicOrigin,
    DEMO_API_JWKS_URL: `https://127.0.0.1:${port}/.well-known/jwks.json`,
    DEMO_API_CA_FILE: tls.certFile,
  });
  const config = demoConfig({ port, host: values.host, dataDir, issuer: idp.issuer, api: api.origin, session });
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
    if (value !== undefined && parseDuration(value) === null) throw new Error(`${flag} ${value}: not a duration (e.g. 30s, 5m, 12h)`);
  }
  const absoluteTimeout = absolute ?? DEMO_SESSION.absoluteTimeout;
  const idleTimeout =
    idle ?? ((parseDuration(absoluteTimeout) as number) < (parseDuration(DEMO_SESSION.idleTimeout) as number) ? absoluteTimeout : DEMO_SESSION.idleTimeout);
  return { idleTimeout, absoluteTimeout };
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
