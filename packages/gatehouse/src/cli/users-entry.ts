import { loadConfig } from '../config/load.js';
import { createAccountStore } from '../local/accounts.js';
import { openSessionBackend } from '../stores/index.js';
import { runUsersCommand } from './users.js';

/** `gatehouse users … --config FILE`: the config says where accounts and sessions live. */
export async function runUsersCommandWithConfig(args: string[]): Promise<number> {
  const { file, rest } = takeConfigFlag(args);
  if (!file) throw new Error('--config FILE is required (or set GATEHOUSE_CONFIG)');
  const config = loadConfig(file);
  const accounts = createAccountStore(config.local.store, { postgres: config.postgres });
  // The same backend the gateway uses, so `passwd` and `remove` end sessions in Redis or PostgreSQL too.
  const { store: sessions, coordination } = await openSessionBackend(config.session.store, {
    redis: config.redis,
    postgres: config.postgres,
  });
  try {
    return await runUsersCommand(rest, {
      accounts,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      // A changed password ends every session of the user (OWASP Session Management).
      onPasswordChanged: async (accountId) => {
        await sessions.deleteByUser(accountId);
      },
      // A removed account must not stay signed in until its sessions expire.
      onAccountRemoved: async (accountId) => {
        await sessions.deleteByUser(accountId);
      },
    });
  } finally {
    await accounts.close();
    await sessions.close();
    await coordination.close();
  }
}

function takeConfigFlag(args: string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file = process.env.GATEHOUSE_CONFIG;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--config' || arg === '-c') file = args[++i];
    else if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { file, rest };
}
