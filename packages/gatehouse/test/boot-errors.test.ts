import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { type BootErrorCode, ConfigError } from '../src/errors.js';
import { readKeyFile } from '../src/keys/keyring.js';
import { openPostgresBackend } from '../src/backends/postgres/backend.js';
import { openPostgresDatabase } from '../src/backends/postgres/pool.js';
import { DEFAULT_REDIS_OPTIONS, openRedisBackend } from '../src/backends/redis/backend.js';
import { createSessionStore, openSessionBackend } from '../src/backends/stores/index.js';
import { createSqliteStore } from '../src/backends/stores/sqlite.js';
import { SigningKeyRing } from '../src/tokens/signing-keys.js';

/** Each start-up failure carries its stable code (docs/errors.md, "Start-up errors"). */
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-boot-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(run: () => unknown): BootErrorCode | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: BootErrorCode }).code;
  }
  return undefined;
}

async function asyncCodeOf(run: () => Promise<unknown>): Promise<BootErrorCode | undefined> {
  return run().then(
    () => undefined,
    (error: unknown) => (error as { code?: BootErrorCode }).code,
  );
}

describe('start-up errors carry stable codes', () => {
  it('GH_CONFIG_INVALID: a configuration the schema refuses (ConfigError)', () => {
    let caught: unknown;
    try {
      resolveConfig({ publicOrigin: 'not a url', typo: true }, { baseDir: dir });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('GH_CONFIG_INVALID');
  });

  it('GH_STORE_URL_INVALID: a session store URL that names no store, or a malformed Redis URL', async () => {
    expect(codeOf(() => createSessionStore('mongodb://db/sessions'))).toBe('GH_STORE_URL_INVALID');
    expect(await asyncCodeOf(() => openSessionBackend('sqlite:'))).toBe('GH_STORE_URL_INVALID');
    expect(await asyncCodeOf(() => openRedisBackend('redis://'))).toBe('GH_STORE_URL_INVALID');
  });

  it('GH_STORE_OPTIONS_INVALID: a PostgreSQL schema or SQLite table name that is not an identifier', () => {
    expect(codeOf(() => openPostgresDatabase('postgres://127.0.0.1:1/x', { schema: 'a"; DROP' }))).toBe('GH_STORE_OPTIONS_INVALID');
    expect(codeOf(() => createSqliteStore({ filename: ':memory:', table: 'x; DROP' }))).toBe('GH_STORE_OPTIONS_INVALID');
  });

  it('GH_STORE_OPEN_FAILED: a SQLite file that cannot be created', () => {
    writeFileSync(join(dir, 'a-file'), '');
    expect(codeOf(() => createSqliteStore({ filename: join(dir, 'a-file', 'sessions.db') }))).toBe('GH_STORE_OPEN_FAILED');
  });

  it('GH_STORE_UNREACHABLE: Redis or PostgreSQL not answering at start-up is reported, and the open still succeeds', async () => {
    const reported: unknown[] = [];
    const onError = (error: unknown) => reported.push(error);
    const redis = await openRedisBackend('redis://127.0.0.1:1', { redis: { ...DEFAULT_REDIS_OPTIONS, connectTimeout: 200 }, onError });
    const postgres = await openPostgresBackend('postgres://gatehouse@127.0.0.1:1/gatehouse', { onError });
    try {
      const codes = reported.map((e) => (e as { code?: string }).code).filter((c) => c === 'GH_STORE_UNREACHABLE');
      expect(codes).toHaveLength(2);
    } finally {
      await Promise.all([redis.store.close(), redis.coordination.close(), postgres.store.close(), postgres.coordination.close()]);
    }
  });

  it('GH_KEYRING_UNREADABLE: a cookie key file that is not JSON, empty, or holds a malformed key', () => {
    const file = join(dir, 'keys.json');
    for (const body of ['{not json', '{"keys":[]}', '{"keys":[{"kid":"a","k":"c2hvcnQ"}]}']) {
      writeFileSync(file, body);
      expect(codeOf(() => readKeyFile(file)), body).toBe('GH_KEYRING_UNREADABLE');
    }
  });

  it('GH_SIGNING_KEYS_UNREADABLE: a signing key file that is not JSON, empty, or holds a malformed key', async () => {
    const file = join(dir, 'signing-keys.json');
    for (const body of ['{not json', '{"keys":[]}', '{"keys":[{"kid":"a","alg":"HS256"}]}']) {
      writeFileSync(file, body);
      expect(await asyncCodeOf(() => SigningKeyRing.open(file)), body).toBe('GH_SIGNING_KEYS_UNREADABLE');
    }
  });
});
