/**
 * The cookie-mode revocation list (`RevocationList`, session/model.ts) for each session backend:
 * memory, a table in the SQLite store's file, and a coordination value for Redis and PostgreSQL.
 * `openSessionBackend` picks the one that goes with the store; these are for callers that build
 * their own (tests injecting a store use the memory one).
 */
export { type CoordinationRevocationsOptions, createCoordinationRevocations } from './coordination.js';
export { createMemoryRevocations, type MemoryRevocationList, type MemoryRevocationsOptions } from './memory.js';
export { createSqliteRevocations, REVOCATIONS_TABLE, type SqliteRevocationList, type SqliteRevocationsOptions } from './sqlite.js';
export type { RevocationList } from '../../session/model.js';
