/**
 * Minimal typings for the parts of better-sqlite3 12 the session store uses.
 *
 * better-sqlite3 ships no types and `@types/better-sqlite3` is not installed. Once it is,
 * delete this file: the two would declare the same module twice.
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      /** Milliseconds to wait on a locked database before SQLITE_BUSY. */
      timeout?: number;
    }

    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<Row = unknown> {
      run(...params: unknown[]): RunResult;
      get(...params: unknown[]): Row | undefined;
      all(...params: unknown[]): Row[];
    }

    type Transaction<F extends (...args: never[]) => unknown> = (...args: Parameters<F>) => ReturnType<F>;

    interface Database {
      readonly open: boolean;
      readonly inTransaction: boolean;
      readonly name: string;
      prepare<Row = unknown>(sql: string): Statement<Row>;
      exec(sql: string): this;
      pragma(sql: string, options: { simple: true }): unknown;
      pragma(sql: string, options?: { simple?: false }): unknown[];
      transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
      close(): this;
    }

    /** Every error raised by SQLite itself; `code` is the extended result code, e.g. `SQLITE_BUSY`. */
    interface SqliteError extends Error {
      readonly code: string;
    }
  }

  interface DatabaseConstructor {
    new (filename?: string, options?: Database.Options): Database.Database;
    (filename?: string, options?: Database.Options): Database.Database;
    readonly SqliteError: new (message: string, code: string) => Database.SqliteError;
  }

  const Database: DatabaseConstructor;
  export = Database;
}
