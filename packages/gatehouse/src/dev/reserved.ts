import { isUnderAnyPrefix, pathOfTarget } from '../util/path-prefix.js';

/**
 * Under a reserved prefix (auth, API routes, static mounts, Gatehouse's own endpoints): never the
 * dev server's. Checked on the path as sent and once percent-decoded (`/%61uth/x` is `/auth/x` to
 * the router), so no spelling sends a gateway path to the dev server; a path that does not decode
 * counts as reserved (fail closed, {@link isUnderAnyPrefix}).
 */
export function isReserved(rawUrl: string, prefixes: readonly string[]): boolean {
  return isUnderAnyPrefix(pathOfTarget(rawUrl), prefixes, { alsoDecoded: true });
}
