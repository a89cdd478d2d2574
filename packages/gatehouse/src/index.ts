/**
 * Gatehouse as a library: build the gateway from a configuration and embed or extend it.
 * The CLI (`gatehouse start`) is a thin wrapper over these.
 */
export { createGatehouse, type Gatehouse, type GatehouseContext, type GatehouseDeps } from './server.js';
export { loadConfig, resolveConfig } from './config/load.js';
export type { GatehouseConfig, GatehouseConfigInput } from './config/schema.js';
export {
  BOOT_ERRORS,
  BootError,
  type BootErrorCode,
  ConfigError,
  type ConfigProblem,
  type ErrorCode,
  ERRORS,
  GatehouseError,
  StoreUnavailableError,
} from './errors.js';
export type { SessionRecord, SessionStore, SessionUser } from './session/model.js';
export { createSessionStore } from './backends/stores/index.js';
export { SessionManager } from './session/manager.js';
export { startGatehouse, waitForShutdown } from './start.js';
export type { Clock } from './clock.js';
export type { SigningKeyRing } from './tokens/signing-keys.js';
