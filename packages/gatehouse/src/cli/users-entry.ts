import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { createAccountStore } from '../local/accounts.js';
import { openSessionBackend } from '../backends/stores/index.js';
import { runUsersCommand } from './users.js';

/** `gatehouse users … --config FILE`: the config says where accounts and sessions live. */
export async function runUsersCommandWithConfig(args: string[]): Promise<number> {
  const { file, rest } = takeConfigFlag(args);
  if (!file) throw new Error('--config FILE is required (or set GATEHOUSE_CONFIG)');
  const config = loadConfig(file);
  const accounts = createAccountStore(config.local.store, { postgres: config.postgres });
  // The same backend the gateway uses, so `passwd` and `remove` end sessions in Redis or PostgreSQL too.
  const { store: sessions, coordination, revocations } = await openSessionBackend(config.session.store, {
    redis: config.redis,
    postgres: config.postgres,
  });
  // Cookie mode: a session lives in its cookie, so ending it is listing its id as revoked (at once,
  // on every instance) as well as deleting it. Harmless in server mode: nothing checks the list.
  const endSessions = async (accountId: string) => {
    for (const session of await sessions.listByUser(accountId)) await revocations.revoke(session.id, session.expiresAt);
    await sessions.deleteByUser(accountId);
  };
  try {
    return await runUsersCommand(rest, {
      accounts,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      // A changed password ends every session of the user (OWASP Session Management).
      onPasswordChanged: (accountId) => endSessions(accountId),
      // A removed account must not stay signed in until its sessions expire.
      onAccountRemoved: (accountId) => endSessions(accountId),
    });
  } finally {
    await accounts.close();
    await revocations.close();
    await sessions.close();
    await coordination.close();
  }
}

/**
 * `--config FILE` (or `-c`, `--config=FILE`) taken out of the arguments with `parseArgs`; the rest,
 * in order, goes to the `users` subcommand, which parses its own flags.
 */
function takeConfigFlag(args: string[]): { file: string | undefined; rest: string[] } {
  const { tokens } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let file = process.env.GATEHOUSE_CONFIG;
  const taken = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name !== 'config') continue;
    file = token.value;
    taken.add(token.index);
    // `--config FILE`: the value is the next argument; `--config=FILE` carries it inline.
    if (!token.inlineValue && token.value !== undefined) taken.add(token.index + 1);
  }
  return { file, rest: args.filter((_, index) => !taken.has(index)) };
}
