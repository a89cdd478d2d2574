/**
 * PostgreSQL test plumbing: a fresh schema per test (so tests never see each other's rows, and
 * parallel runs never collide) and a side connection to look at the tables directly.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { DEFAULT_POSTGRES_OPTIONS, type PostgresOptions } from '../../src/backends/postgres/pool.js';
import { POSTGRES_URL, runId } from './services.js';

let seq = 0;

/** A schema name no other test or run uses: `gh_<runId>_<n>`. Nothing is created yet. */
export function freshSchema(): string {
  return `gh_${runId}_${++seq}`.toLowerCase();
}

/** The config's `postgres` block for a test schema (short timeouts: failures show fast). */
export function postgresOptions(schema: string, overrides: Partial<PostgresOptions> = {}): PostgresOptions {
  return { ...DEFAULT_POSTGRES_OPTIONS, schema, poolSize: 4, connectTimeout: 2000, queryTimeout: 2000, ...overrides };
}

/** Runs one statement on its own connection, outside any store. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query<R>(text, values);
  } finally {
    await client.end();
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** An address where nothing listens: connecting fails at once (ECONNREFUSED). */
export const UNREACHABLE_URL = 'postgres://postgres@127.0.0.1:1/test';

/**
 * A TCP relay to the test PostgreSQL that can be taken down and brought back on the same port:
 * a database outage and recovery, as the gateway sees it, without touching the shared server.
 */
export interface Outage {
  /** A URL through the relay. */
  url: string;
  /** Accept and relay connections. */
  up(): Promise<void>;
  /** Stop listening and cut every relayed connection (the server "goes away"). */
  down(): Promise<void>;
  /** Connections open through the relay now. */
  connections(): number;
}

export async function outageRelay(): Promise<Outage> {
  const target = new URL(POSTGRES_URL);
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    const upstream = connect({ host: target.hostname, port: Number(target.port || 5432) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  const url = new URL(POSTGRES_URL);
  url.port = String(port);
  return {
    url: url.toString(),
    connections: () => clients.size,
    up: () => (server.listening ? Promise.resolve() : listen(port)),
    down: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
