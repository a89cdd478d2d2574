/**
 * `@gatehouse/client`: the browser side of a Gatehouse gateway. No dependencies, no tokens: the
 * browser's only credential is the gateway's HttpOnly cookie, which this code never sees.
 *
 * @packageDocumentation
 */
export { createGatehouseClient } from './client.js';
export { type GatehouseClock, systemClock } from './clock.js';
export { GatehouseClientError, type GatehouseErrorCode } from './errors.js';
export { isSameOriginPath } from './lib/return-to.js';
export type {
  ExpiringEvent,
  FederatedLogin,
  GatehouseClient,
  GatehouseClientOptions,
  GatehouseDevice,
  GatehouseEvents,
  GatehouseProvider,
  GatehouseProviders,
  GatehouseSession,
  GatehouseState,
  GatehouseUser,
  LocalLogin,
  SignedOutEvent,
  SignedOutReason,
} from './types.js';
