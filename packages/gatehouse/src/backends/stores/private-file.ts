import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Makes sure a database file holding sessions or password hashes is readable by its owner only:
 * the folder is created 0700 and the file 0600 before SQLite opens it (SQLite gives its -wal and
 * -shm files the database file's mode). An existing file that others can read is tightened.
 */
export function preparePrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  const stat = statSync(path);
  if ((stat.mode & 0o077) !== 0 && typeof process.getuid === 'function' && stat.uid === process.getuid()) {
    chmodSync(path, 0o600);
  }
}
