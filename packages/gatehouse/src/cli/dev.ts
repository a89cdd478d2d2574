import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GatehouseConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { loadOrCreateSelfSigned } from '../tls/self-signed.js';
import { type DevFlags, DevUsageError, devConfig } from './dev-config.js';
import { sessionModeLine } from './session-mode-flag.js';
import { startGatehouse, waitForShutdown } from '../start.js';

export const DEV_USAGE =
  'gatehouse dev --upstream-spa URL [--api PATH=URL]... [--port 8443] [--host 127.0.0.1] [--data .gatehouse-dev] [--session-mode server|cookie] [--config FILE]';

/** Where `gatehouse dev` (without `--config`) writes the configuration it runs, for `gatehouse users … --config`. */
export const DEV_CONFIG_FILE = 'gatehouse.dev.json';

/** The flags of `gatehouse dev` as given; {@link devConfig} checks their values. Throws parseArgs' own errors (`ERR_PARSE_ARGS_*`) for unknown flags. */
export function parseDevArgs(args: string[]): DevFlags {
  const { values } = parseArgs({
    args,
    options: {
      'upstream-spa': { type: 'string' },
      api: { type: 'string', multiple: true },
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'session-mode': { type: 'string' },
    },
  });
  return {
    upstreamSpa: values['upstream-spa'],
    api: values.api ?? [],
    port: values.port,
    host: values.host,
    data: values.data,
    config: values.config,
    sessionMode: values['session-mode'],
  };
}

/**
 * `gatehouse dev`: one HTTPS origin in front of the SPA's dev server (its HMR WebSocket included)
 * and the API, with production's cookie and CSRF rules, so no CORS is needed. Runs until
 * SIGINT/SIGTERM. A wrong flag exits 2 with a message naming it; a bad `--config` file exits 1.
 */
export async function runDev(args: string[]): Promise<number> {
  let dev: ReturnType<typeof devConfig>;
  try {
    dev = devConfig(parseDevArgs(args), process.env);
  } catch (error) {
    if (error instanceof DevUsageError || isParseArgsError(error)) {
      process.stderr.write(`gatehouse dev: ${(error as Error).message}\nusage: ${DEV_USAGE}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse dev: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const { config } = dev;
  if (dev.downgraded) {
    // Loud on purpose: the same file under `gatehouse start` would refuse what dev now allows.
    process.stderr.write(
      `gatehouse dev: warning: ${dev.file} is a production configuration; running it in development mode (plain HTTP on loopback, a CORS allowlist and a dev server become possible). Never run \`gatehouse dev\` in front of real users.\n`,
    );
  }
  // Without a file of their own, `gatehouse users add … --config` needs to know where accounts live.
  const configFile = dev.file ?? writeDevConfig(config.dataDir, dev.input);
  const certFile = config.listen.tls === 'self-signed' ? (await loadOrCreateSelfSigned(config.dataDir)).certFile : undefined;
  const gatehouse = await startGatehouse(config);
  process.stdout.write(banner(config, configFile, certFile));
  await waitForShutdown(gatehouse);
  return 0;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function writeDevConfig(dataDir: string, input: Record<string, unknown>): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DEV_CONFIG_FILE);
  writeFileSync(file, `${JSON.stringify(input, null, 2)}\n`);
  return file;
}

/** What to open, what goes where, how to trust the certificate, how to sign in. */
export function banner(config: GatehouseConfig, configFile: string, certFile: string | undefined): string {
  const routes = [
    `  ${config.auth.prefix.padEnd(12)} sign-in, session, logout (Gatehouse)`,
    ...config.apis.map((api) => `  ${api.path.padEnd(12)} → ${api.upstream} (auth ${api.auth}, token ${api.token}; the cookie is never forwarded)`),
    `  ${'/'.padEnd(12)} → ${config.spa?.upstream ?? config.spa?.root} (the dev server, its HMR WebSocket too)`,
  ];
  const lines = ['', `Gatehouse dev is running: open ${config.publicOrigin}/`, '', ...routes, ''];
  if (certFile !== undefined) lines.push(...trustInstructions(certFile), '');
  lines.push('No CORS configuration is needed: the SPA and the API share this origin.', '', sessionModeLine(config), '');
  if (config.local.enabled) {
    lines.push('Sign in with a local account; create one with', `  npx gatehouse users add alice --config ${configFile}`);
  } else {
    lines.push(`Local accounts are off in ${configFile}; sign in with: ${config.providers.map((p) => p.id).join(', ') || '(no provider configured)'}`);
  }
  lines.push('Stop with Ctrl+C.', '');
  return lines.join('\n');
}

/** One line per system: the certificate is generated once per data directory and reused. */
export function trustInstructions(certFile: string): string[] {
  return [
    `HTTPS certificate for localhost (self-signed, kept and reused): ${certFile}`,
    'Trust it once (then restart the browser), or accept the browser warning:',
    `  Debian/Ubuntu: sudo cp ${certFile} /usr/local/share/ca-certificates/gatehouse-dev.crt && sudo update-ca-certificates`,
    `  Fedora/RHEL:   sudo cp ${certFile} /etc/pki/ca-trust/source/anchors/gatehouse-dev.crt && sudo update-ca-trust`,
    `  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${certFile}`,
    `  Windows:       certutil -user -addstore Root ${certFile}`,
    '  Firefox, and Chrome/Chromium on Linux, keep their own store: import the file in the browser\'s certificate settings.',
  ];
}
