import { formatDuration } from '../config/checks/format.js';
import type { GatehouseConfig } from '../config/schema.js';

/** What `--session-mode` of `gatehouse demo` and `gatehouse dev` selects: `session.mode`. */
export type SessionMode = GatehouseConfig['session']['mode'];

/** The values `--session-mode` takes, as the schema's `session.mode` does. */
export const SESSION_MODES: readonly SessionMode[] = ['server', 'cookie'];

/**
 * `--session-mode VALUE` as the mode it selects, or the message for a wrong value (each command
 * reports it with its usage and exits 2). Exact and case-sensitive, as the config key is: the flag
 * never accepts what the file would refuse.
 */
export function sessionModeFlag(value: string): { mode: SessionMode } | { problem: string } {
  const mode = SESSION_MODES.find((m) => m === value);
  if (mode !== undefined) return { mode };
  return { problem: `--session-mode ${JSON.stringify(value)}: must be "server" or "cookie" (session.mode; docs/configuration.md, "Session modes")` };
}

/** One line for a banner: which mode runs and what it means here. */
export function sessionModeLine(config: GatehouseConfig): string {
  if (config.session.mode === 'server') {
    return 'Sessions: server mode (the cookie is a random id; the session lives in the store). --session-mode cookie puts the session in the encrypted cookie.';
  }
  return `Sessions: cookie mode (the cookie is the encrypted session; the store keeps the devices list, provider tokens and revocations; account changes apply within ${formatDuration(config.session.revalidateEvery)}).`;
}
