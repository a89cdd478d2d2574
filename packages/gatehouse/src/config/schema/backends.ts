import { z } from 'zod';
import { duration } from './values.js';

/** `redis`: options of the Redis back end. */
export const redisSection = z
  .strictObject({
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9:._-]{1,64}$/, 'must be 1–64 characters of letters, digits, ":", ".", "_" or "-".')
      .default('gatehouse:')
      .describe('Prefix of every Redis key Gatehouse writes (share one Redis between deployments with different prefixes).'),
    connectTimeout: duration('5s', 'Give up connecting (and answer 503) after this long.'),
    commandTimeout: duration('2s', 'A Redis command that takes longer fails (503 store_unavailable) instead of hanging requests.'),
  })
  .prefault({})
  .describe('Redis options, used when `session.store` is a redis URL.');

/** `postgres`: options of the PostgreSQL back end. */
export const postgresSection = z
  .strictObject({
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier (letters, digits, "_").')
      .default('gatehouse')
      .describe('PostgreSQL schema holding Gatehouse\'s tables.'),
    poolSize: z.number().int().min(1).max(1000).default(10).describe('Connections in the pool (per instance).'),
    migrateOnStart: z
      .boolean()
      .default(true)
      .describe('Create or upgrade the schema on start. false: run `gatehouse migrate` yourself (the database user then needs no DDL rights).'),
    connectTimeout: duration('5s', 'Give up connecting (and answer 503) after this long.'),
    queryTimeout: duration('5s', 'A query that takes longer fails (503 store_unavailable).'),
  })
  .prefault({})
  .describe('PostgreSQL options, used when `session.store` or `local.store` is a postgres URL.');
