import { readFileSync } from 'node:fs';
import { runConfigCheck } from './config-check.js';
import { runDev } from './dev.js';
import { runKeysCommand } from './keys.js';
import { runMigrate } from './migrate.js';
import { runStart } from './start.js';
import { runUsersCommandWithConfig } from './users-entry.js';

const HELP = `gatehouse — a Backend-for-Frontend security gateway for single-page applications

Usage:
  gatehouse demo [--port 8443] [--data DIR] [--idle-timeout 30m] [--absolute-timeout 12h]
                 [--session-mode server|cookie]  everything embedded: demo SPA, demo user, HTTPS
  gatehouse dev --upstream-spa URL [--api PATH=URL]... [--port 8443] [--config FILE]
                 [--session-mode server|cookie]  HTTPS in front of your dev server (HMR too) and API
  gatehouse start --config FILE                  run the gateway
  gatehouse config check --config FILE           validate a config, print every problem
  gatehouse users add|list|remove|passwd ... --config FILE
                                                 local accounts (--password-stdin for scripts)
  gatehouse keys generate|rotate|list|export --config FILE
                                                 the key ring (cookies, anti-forgery tokens, sealed tokens)
  gatehouse migrate --config FILE                create or upgrade the PostgreSQL schema
  gatehouse --version

Configuration reference: docs/configuration.md. GATEHOUSE_* environment variables override keys.
`;

/** The CLI entry point. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'demo':
        // Loaded on demand: it brings the demo OpenID provider, which no other command needs.
        return await (await import('./demo.js')).runDemo(rest);
      case 'dev':
        return await runDev(rest);
      case 'start':
        return await runStart(rest);
      case 'config':
        if (rest[0] !== 'check') return usage('gatehouse config check --config FILE');
        return await runConfigCheck(rest.slice(1));
      case 'users':
        return await runUsersCommandWithConfig(rest);
      case 'keys':
        return await runKeysCommand(rest);
      case 'migrate':
        return await runMigrate(rest);
      case '--version':
      case '-v':
        process.stdout.write(`${version()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`gatehouse: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`gatehouse ${command}: ${(error as Error).message}\n`);
    return 1;
  }
}

function usage(text: string): number {
  process.stderr.write(`usage: ${text}\n`);
  return 2;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
