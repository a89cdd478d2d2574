/**
 * Under a reserved prefix (auth, API routes, static mounts, Gatehouse's own endpoints): never the
 * dev server's. Checked on the path as sent and once percent-decoded (`/%61uth/x` is `/auth/x` to
 * the router), so no spelling sends a gateway path to the dev server.
 */
export function isReserved(rawUrl: string, prefixes: readonly string[]): boolean {
  const path = rawUrl.split('?', 1)[0] ?? '/';
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed encoding: checkProxyPath refuses it next.
  }
  return prefixes.some((p) => [path, decoded].some((candidate) => candidate === p || candidate.startsWith(`${p}/`)));
}
