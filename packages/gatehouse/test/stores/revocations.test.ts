/**
 * The revocation list contract (revocation-conformance.ts) against every session backend, opened
 * by URL as the gateway opens it: memory, a SQLite file in a temp dir, the shared Redis and the
 * shared PostgreSQL (skipped where those are not reachable, failing under CI); then what is
 * particular to each (memory's bound, SQLite's purge, where Redis and PostgreSQL keep it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { REVOCATIONS_TABLE } from '../../src/backends/revocations/index.js';
import { openSessionBackend, type BackendOptions } from '../../src/backends/stores/index.js';
import { createSqliteStore } from '../../src/backends/stores/sqlite.js';
import type { RevocationList } from '../../src/session/model.js';
import { dropSchema, freshSchema, postgresOptions, sql, UNREACHABLE_URL } from '../helpers/postgres.js';
import { deleteKeys, freePort } from '../helpers/redis-server.js';
import { describeWithPostgres, describeWithRedis, POSTGRES_URL, REDIS_URL, runId } from '../helpers/services.js';
import {
  clock,
  closeBackend,
  expectManyKept,
  HOUR,
  opener,
  type RevocationsUnderTest,
  runRevocationConformance,
  T0,
  time,
} from './revocation-conformance.js';

// --- memory ---------------------------------------------------------------------------------

runRevocationConformance('memory', async () => {
  const backends = opener('memory', {});
  const { revocations } = await backends.open();
  return {
    list: revocations,
    durable: false,
    stored: async () => (revocations as RevocationList & { size: number }).size,
    async down() {
      await revocations.close();
      return [revocations];
    },
    cleanup: () => backends.closeAll(),
  };
});

describe('memory revocation list', () => {
  beforeEach(() => {
    time.now = T0;
  });

  it('keeps 5 000 live revocations, and reclaims expired ones without evicting a live one', async () => {
    const { revocations, store, coordination } = await openSessionBackend('memory', { clock });
    const list = revocations as RevocationList & { size: number };
    try {
      for (let i = 0; i < 5_000; i++) await list.revoke(`short-${i}`, T0 + 60_000);
      await expectManyKept(list, 5_000);
      expect(list.size).toBe(10_000);
      time.now = T0 + 60_000; // the short ones are over, never looked up again
      for (let i = 0; i < 5_000; i++) await list.revoke(`late-${i}`, T0 + 2 * HOUR);
      // Swept on insert: the 5 000 expired are gone; all 10 000 live ones are kept.
      expect(list.size).toBe(10_000);
      for (const prefix of ['bulk', 'late']) {
        for (let i = 0; i < 5_000; i++) expect(await list.isRevoked(`${prefix}-${i}`)).toBe(true);
      }
      expect(await list.isRevoked('short-0')).toBe(false);
    } finally {
      await closeBackend({ revocations, store, coordination });
    }
  });
});

// --- sqlite ---------------------------------------------------------------------------------

runRevocationConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-revocations-'));
  const url = `sqlite:${join(dir, 'data', 'sessions.db')}`;
  const backends = opener(url, {});
  const first = await backends.open();
  return {
    list: first.revocations,
    durable: true,
    other: async () => (await backends.open()).revocations,
    async reopen() {
      await backends.closeAll();
      return (await backends.open()).revocations;
    },
    async stored() {
      const db = new Database(join(dir, 'data', 'sessions.db'), { readonly: true });
      try {
        return db.prepare<[], number>(`SELECT COUNT(*) FROM ${REVOCATIONS_TABLE}`).pluck().get() as number;
      } finally {
        db.close();
      }
    },
    async down() {
      const storeClosed = await backends.open();
      await storeClosed.store.close();
      const listClosed = await backends.open();
      await listClosed.revocations.close();
      return [storeClosed.revocations, listClosed.revocations];
    },
    async cleanup() {
      await backends.closeAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite revocation list', () => {
  beforeEach(() => {
    time.now = T0;
  });

  it('sqlite::memory: keeps its list in the private database of its own store', async () => {
    const a = await openSessionBackend('sqlite::memory:', { clock });
    const b = await openSessionBackend('sqlite::memory:', { clock });
    try {
      await a.revocations.revoke('s1', T0 + HOUR);
      expect(await a.revocations.isRevoked('s1')).toBe(true);
      expect(await b.revocations.isRevoked('s1')).toBe(false);
      await expectManyKept(a.revocations, 5_000);
    } finally {
      for (const x of [a, b]) await closeBackend(x);
    }
  });

  it('purgeExpired deletes the expired rows only', async () => {
    const store = createSqliteStore({ filename: ':memory:', clock });
    try {
      const list = store.revocations();
      expect(store.revocations()).toBe(list);
      for (let i = 0; i < 1_200; i++) await list.revoke(`old-${i}`, T0 + 1_000);
      await list.revoke('live', T0 + HOUR);
      expect(list.purgeExpired()).toBe(0);
      time.now = T0 + 1_000;
      expect(list.purgeExpired()).toBe(1_200);
      time.now = T0;
      expect(await list.isRevoked('old-0')).toBe(false);
      expect(await list.isRevoked('live')).toBe(true);
    } finally {
      await store.close();
    }
  });
});

// --- redis and postgres: coordination values -------------------------------------------------

/** A networked backend: every instance is its own connection; `down` also opens one where nothing listens. */
function networked(
  url: string,
  options: BackendOptions,
  unreachable: { url: string; options: BackendOptions },
  stored: () => Promise<number>,
  drop: () => Promise<unknown>,
): () => Promise<RevocationsUnderTest> {
  return async () => {
    const backends = opener(url, options);
    const first = await backends.open();
    return {
      list: first.revocations,
      durable: true,
      other: async () => (await backends.open()).revocations,
      async reopen() {
        await backends.closeAll();
        return (await backends.open()).revocations;
      },
      stored,
      async down() {
        const refused = await backends.open(unreachable.url, unreachable.options);
        const coordinationClosed = await backends.open();
        await coordinationClosed.coordination.close();
        // Closed by its own close(): it fails closed although its coordination is still open.
        const listClosed = await backends.open();
        await listClosed.revocations.close();
        return [refused.revocations, coordinationClosed.revocations, listClosed.revocations];
      },
      async cleanup() {
        await backends.closeAll();
        await drop();
      },
    };
  };
}

let seq = 0;

describeWithRedis('redis revocation list', () => {
  const timeouts = { connectTimeout: 2_000, commandTimeout: 2_000 };
  /** A key prefix of its own for each test: parallel runs and tests never see each other's keys. */
  const nextPrefix = () => `gh-test:${runId}:revocations:${++seq}:`;

  runRevocationConformance('redis', async () => {
    const keyPrefix = nextPrefix();
    const stored = () => withAdmin(async (admin) => (await admin.keys(`${keyPrefix}*revoked:*`)).length);
    const unreachable = { url: `redis://127.0.0.1:${await freePort()}`, options: { redis: { keyPrefix, connectTimeout: 300, commandTimeout: 300 } } };
    return networked(REDIS_URL, { redis: { keyPrefix, ...timeouts } }, unreachable, stored, () => deleteKeys(REDIS_URL, keyPrefix))();
  });

  it('stores `until` under the coordination value key, with a TTL ending at `until`, so Redis forgets it', async () => {
    const keyPrefix = nextPrefix();
    const backend = await openSessionBackend(REDIS_URL, { clock: () => Date.now(), redis: { keyPrefix, ...timeouts } });
    try {
      const until = Date.now() + HOUR;
      await backend.revocations.revoke('s1', until);
      const key = `${keyPrefix}c:v:revoked:s1`;
      const [value, ttl] = await withAdmin((admin) => Promise.all([admin.get(key), admin.pTTL(key)]));
      expect(value).toBe(String(until));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(HOUR);
    } finally {
      await closeBackend(backend);
      await deleteKeys(REDIS_URL, keyPrefix);
    }
  });
});

/** Runs `use` on a connection of its own, outside the code under test. */
async function withAdmin<T>(use: (admin: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const admin = createClient({ url: REDIS_URL });
  admin.on('error', () => {});
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    admin.destroy();
  }
}

describeWithPostgres('postgres revocation list', () => {
  runRevocationConformance('postgres', async () => {
    const schema = freshSchema();
    const stored = async () => {
      const { rows } = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".kv WHERE key LIKE 'revoked:%'`);
      return rows[0]?.n ?? -1;
    };
    const options = { postgres: postgresOptions(schema) };
    return networked(POSTGRES_URL, options, { url: UNREACHABLE_URL, options }, stored, () => dropSchema(schema))();
  });

  it('stores `until` as the kv row and its expiry, so the purge reclaims it', async () => {
    const schema = freshSchema();
    const backend = await openSessionBackend(POSTGRES_URL, { clock, postgres: postgresOptions(schema) });
    try {
      await backend.revocations.revoke('s1', T0 + HOUR);
      const { rows } = await sql(`SELECT key, value, expires_at::text AS expires_at FROM "${schema}".kv`);
      expect(rows).toStrictEqual([{ key: 'revoked:s1', value: String(T0 + HOUR), expires_at: String(T0 + HOUR) }]);
    } finally {
      await closeBackend(backend);
      await dropSchema(schema);
    }
  });
});
