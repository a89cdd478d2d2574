import type { GatehouseDevice, GatehouseProviders, GatehouseSession } from '../types.js';

/** `GET /auth/session` (and `POST /auth/login`) as the gateway sends it. */
export interface SessionJson {
  user: GatehouseSession['user'];
  session: { id: string; createdAt: string; expiresAt: string; idleExpiresAt: string };
  provider: string;
  csrfToken: string;
}

/** One row of `GET /auth/sessions`. */
export interface DeviceJson {
  id: string;
  current: boolean;
  provider: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

/** True when the value has the shape of a session answer (checked before any timer is set from it). */
export function isSessionJson(value: unknown): value is SessionJson {
  const v = value as Partial<SessionJson> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.user === 'object' &&
    v.user !== null &&
    typeof v.user.id === 'string' &&
    typeof v.session === 'object' &&
    v.session !== null &&
    typeof v.session.id === 'string' &&
    !Number.isNaN(Date.parse(v.session.expiresAt)) &&
    !Number.isNaN(Date.parse(v.session.idleExpiresAt)) &&
    typeof v.provider === 'string'
  );
}

export function toSession(json: SessionJson): GatehouseSession {
  return {
    user: { ...json.user, roles: Array.isArray(json.user.roles) ? json.user.roles : [] },
    provider: json.provider,
    id: json.session.id,
    createdAt: new Date(json.session.createdAt),
    expiresAt: new Date(json.session.expiresAt),
    idleExpiresAt: new Date(json.session.idleExpiresAt),
    csrfToken: json.csrfToken,
  };
}

export function toDevice(json: DeviceJson): GatehouseDevice {
  return {
    id: json.id,
    current: json.current === true,
    provider: json.provider,
    createdAt: new Date(json.createdAt),
    lastSeenAt: new Date(json.lastSeenAt),
    expiresAt: new Date(json.expiresAt),
    ip: json.ip ?? null,
    userAgent: json.userAgent ?? null,
  };
}

export function toProviders(json: Partial<GatehouseProviders>): GatehouseProviders {
  return {
    local: json.local === true,
    providers: Array.isArray(json.providers)
      ? json.providers
          // An entry that is not a provider (null, a string) is skipped, not a TypeError.
          .filter((p) => typeof p === 'object' && p !== null && typeof p.id === 'string')
          .map((p) => ({ id: p.id, name: p.name ?? p.id, loginUrl: p.loginUrl }))
      : [],
  };
}
