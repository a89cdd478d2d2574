/**
 * The machine's shared services (Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432, database
 * `test`, trust auth). Tests that need one call `describeWithRedis` / `describeWithPostgres`:
 * where the service is not reachable they are skipped with the reason printed, except under
 * `CI=true`, where a missing service fails the run (CI must prove the real backends).
 *
 * Each test run writes under its own key prefix / schema (`runId`), so parallel runs on one
 * machine never collide.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe } from 'vitest';

export const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Unique per test process: use it in Redis key prefixes and PostgreSQL schema names. */
export const runId = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const redisUp = await reachable(REDIS_URL, 6379);
const postgresUp = await reachable(POSTGRES_URL, 5432);
const inCi = process.env.CI === 'true';

type Describe = typeof describe;

function gate(name: string, up: boolean, url: string): Describe {
  if (up) return describe;
  if (inCi) throw new Error(`${name} is not reachable at ${url}: CI must run the ${name} tests (start the service).`);
  console.warn(`[skip] ${name} is not reachable at ${url}: its tests are skipped (they run in CI).`);
  return describe.skip as unknown as Describe;
}

/** `describe` when Redis answers; skipped (or, under CI=true, failing) otherwise. */
export const describeWithRedis: Describe = gate('Redis', redisUp, REDIS_URL);
/** `describe` when PostgreSQL answers; skipped (or, under CI=true, failing) otherwise. */
export const describeWithPostgres: Describe = gate('PostgreSQL', postgresUp, POSTGRES_URL);
