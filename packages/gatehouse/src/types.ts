import type { FastifyInstance } from 'fastify';
import type { CustomFetch } from 'openid-client';
import type { Clock } from './clock.js';
import type { GatehouseConfig } from './config/schema.js';
import type { Coordination } from './backends/coordination/types.js';
import type { Audit } from './http/audit.js';
import type { KeyRing } from './keys/keyring.js';
import type { LocalAccounts } from './local/service.js';
import type { OidcProvider } from './oidc/providers.js';
import type { SessionGuard } from './session/guard.js';
import type { SessionManager } from './session/manager.js';
import type { SessionStore } from './session/model.js';
import type { SigningKeyRing } from './tokens/signing-keys.js';

// The library's contract: what `createGatehouse` (server.ts) takes and gives back.

/** Parts a caller may supply instead of the ones the config describes (tests, embedding). */
export interface GatehouseDeps {
  clock?: Clock;
  store?: SessionStore;
  /** State shared by instances (throttle, locks); default: the session backend's, or in-process with `store`. */
  coordination?: Coordination;
  keys?: KeyRing;
  /** Signing keys of internal tokens; default: `dataDir/signing-keys.json` when a route uses them. */
  signingKeys?: SigningKeyRing;
  local?: LocalAccounts;
  /** TLS material for the listener; when absent the listener is plain HTTP (tests use inject()). */
  https?: { cert: string; key: string } | null;
  /** A pino logger or Fastify logger options; default: pino at the configured level. */
  logger?: boolean | Record<string, unknown>;
  /** fetch for provider requests (tests inject one); default: the global fetch. */
  fetch?: CustomFetch;
  /** Adds routes inside the gateway (the demo API) with access to the session guard. */
  extend?: (app: FastifyInstance, context: GatehouseContext) => Promise<void> | void;
}

/** What routes added with {@link GatehouseDeps.extend} can use. */
export interface GatehouseContext {
  config: GatehouseConfig;
  sessions: SessionManager;
  /**
   * The session, or the refusal: throws 401 (API), 403 (cross-site, missing role); for a
   * navigation without a session, sends a redirect to the login page and resolves null —
   * the caller must then `return reply`.
   */
  guard: SessionGuard['guard'];
  audit: Audit;
}

export interface Gatehouse {
  app: FastifyInstance;
  config: GatehouseConfig;
  sessions: SessionManager;
  store: SessionStore;
  /** Throttle counters, locks and marks: shared by instances when the store is. */
  coordination: Coordination;
  local: LocalAccounts | undefined;
  keys: KeyRing;
  /** Signing keys of internal tokens (published at /.well-known/jwks.json); null when no route uses them. */
  signingKeys: SigningKeyRing | null;
  /** The configured OpenID providers, by id. */
  providers: ReadonlyMap<string, OidcProvider>;
  /** The plain-HTTP admin listener of `metrics.port` (`/metrics`), not yet listening; null without one. */
  metricsListener: FastifyInstance | null;
  /** Stops the listeners and closes the stores. */
  close(): Promise<void>;
}
