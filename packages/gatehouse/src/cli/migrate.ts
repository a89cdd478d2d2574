import { loadConfig } from '../config/load.js';
import { isPostgresUrl, openPostgresDatabase } from '../backends/postgres/pool.js';
import { configArg } from './args.js';

/**
 * `gatehouse migrate --config FILE`: creates or upgrades the PostgreSQL schema of every postgres
 * URL among `session.store` and `local.store`. For deployments with `postgres.migrateOnStart:
 * false`, run it in the deploy step with a user that has DDL rights; the gateway's own user then
 * needs none. Safe to run while gateways are up, and from several places at once.
 */
export async function runMigrate(args: string[]): Promise<number> {
  const { file, positionals } = configArg(args);
  if (positionals.length > 0) {
    process.stderr.write('usage: gatehouse migrate --config FILE\n');
    return 2;
  }
  const config = loadConfig(file);
  const urls = [...new Set([config.session.store, config.local.store].filter(isPostgresUrl))];
  if (urls.length === 0) {
    process.stdout.write('nothing to migrate: neither session.store nor local.store is a postgres:// URL\n');
    return 0;
  }
  for (const url of urls) {
    const db = openPostgresDatabase(url, config.postgres);
    try {
      const { schema, applied } = await db.migrate();
      process.stdout.write(
        applied.length === 0
          ? `schema ${schema} is up to date\n`
          : `applied ${applied.length} migration(s) to schema ${schema}\n`,
      );
    } catch (error) {
      process.stderr.write(`gatehouse migrate: cannot migrate ${redactUrl(url)}: ${reason(error)}\n`);
      return 1;
    } finally {
      await db.close();
    }
  }
  return 0;
}

/**
 * What went wrong, in one line: the cause of the StoreUnavailableError (refused, authentication,
 * permission), not its generic message nor a stack trace.
 */
function reason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  // Node reports a host whose every address refused (localhost: ::1 and 127.0.0.1) as an
  // AggregateError with an empty message.
  const parts = cause instanceof AggregateError ? cause.errors : [cause];
  return parts.map((e) => (e as Error).message || (e as { code?: string }).code || String(e)).join('; ');
}

/** The URL without its password, fit to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return 'the postgres URL';
  }
}
