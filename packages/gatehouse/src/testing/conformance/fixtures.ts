// The suite's records and times: a fixed start (T0) the fake clock moves from.
import type { SessionRecord } from '../../session/model.js';

export const T0 = Date.UTC(2030, 0, 1);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

let seq = 0;
/** A record as the session core would write it: idle 30 min, absolute 8 h from `createdAt`. */
export function makeRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  seq++;
  const createdAt = overrides.createdAt ?? T0;
  const userId = overrides.userId ?? 'user-1';
  return {
    id: `sess_${seq.toString().padStart(6, '0')}-AbC_xyz`,
    userId,
    user: { id: userId, username: 'ada', name: 'Ada Lovelace', email: 'ada@example.test', roles: ['admin', 'dev'] },
    provider: 'local',
    createdAt,
    lastSeenAt: createdAt,
    idleExpiresAt: createdAt + 30 * MINUTE,
    expiresAt: createdAt + 8 * HOUR,
    client: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' },
    data: { tokens: { access: 'enc:abc', expiresAt: createdAt + HOUR }, flags: [1, 'two', null, true] },
    ...overrides,
  };
}
