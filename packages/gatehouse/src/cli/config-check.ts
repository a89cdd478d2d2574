import { formatDuration } from '../config/checks/format.js';
import { loadConfig } from '../config/load.js';
import type { GatehouseConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { configArg } from './args.js';

/** `gatehouse config check --config FILE`: every problem at once, non-zero exit when there is any. */
export async function runConfigCheck(args: string[]): Promise<number> {
  const { file } = configArg(args);
  try {
    const config = loadConfig(file);
    process.stdout.write(`${file}: OK (mode ${config.mode}, public origin ${config.publicOrigin})\n`);
    process.stdout.write(`${sessionModeNote(config)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}

/** What the chosen session mode trades, in one paragraph (docs/configuration.md, "Session modes"). */
export function sessionModeNote(config: GatehouseConfig): string {
  const s = config.session;
  if (s.mode === 'server') {
    return 'session.mode "server": the cookie is a random id; each request reads the session from the store. Sign-out and revocation apply at once; role changes apply at the next sign-in.';
  }
  return [
    'session.mode "cookie": the cookie carries the session, encrypted under the key ring; a request reads no session record, only one revocation-list lookup.',
    `Sign-out, "sign out everywhere" and back-channel logout apply at once. A removed user, a changed password or changed roles take effect within session.revalidateEvery (${formatDuration(s.revalidateEvery)}).`,
    `Provider tokens stay in the store. Cookies over 4096 bytes are split; over session.cookie.maxBytes (${s.cookie.maxBytes}) the sign-in is refused with session_too_large.`,
  ].join(' ');
}
