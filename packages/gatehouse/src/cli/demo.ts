import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { registerDemoApi } from '../demo/api.js';
import type { Gatehouse } from '../server.js';
import { startGatehouse, waitForShutdown } from './start.js';

/** The demo's own files (SPA and protected files), shipped with the package. */
export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

export const DEMO_USERNAME = 'demo';

/** The demo's configuration: the minimum config, pointed at the shipped demo files. */
export function demoConfig(options: { port: number; host: string; dataDir: string }): GatehouseConfig {
  return resolveConfig(
    {
      publicOrigin: `https://localhost:${options.port}`,
      dataDir: options.dataDir,
      listen: { host: options.host, port: options.port, tls: 'self-signed' },
      spa: { root: resolve(DEMO_DIR, 'spa') },
      static: [{ path: '/files', root: resolve(DEMO_DIR, 'files'), protected: true }],
      session: { idleTimeout: '30m', absoluteTimeout: '12h' },
      local: { enabled: true },
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
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
  const config = demoConfig({ port, host: values.host, dataDir: resolve(values.data) });
  const gatehouse = await startGatehouse(config, { extend: registerDemoApi });
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
      '',
      `Data (SQLite, keys, certificate): ${config.dataDir}`,
      'Stop with Ctrl+C.',
      '',
    ].join('\n'),
  );
  await waitForShutdown(gatehouse);
  return 0;
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
