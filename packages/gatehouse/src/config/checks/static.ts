import type { ConfigProblem } from '../../errors.js';
import { isUnderPrefix } from '../../util/path-prefix.js';
import type { PartialConfig } from './types.js';

/** `static[]`: unique prefixes, neither "/" nor inside `auth.prefix`. */
export function checkStatic(c: PartialConfig): ConfigProblem[] {
  if (!c.static) return [];
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const prefix = c.auth ? trim(c.auth.prefix) : undefined;
  const seen = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  for (const [i, entry] of c.static.entries()) {
    const path = trim(entry.path);
    const key = `static[${i}].path`;
    if (path === '/') {
      problems.push({ key, message: '"/" would take every path from the SPA and /auth. Mount files under a prefix such as "/files".' });
    } else if (path !== entry.path) {
      // "/files/" would register the route "/files//*", leaving "/files/x" to the SPA handler.
      problems.push({ key, message: `"${entry.path}" must not end with "/": write "${path}".` });
    }
    // The auth endpoints must stay reachable and unambiguous: files must not shadow /auth/*.
    if (prefix !== undefined && isUnderPrefix(path, prefix)) {
      const message = `"${entry.path}" is inside auth.prefix "${prefix}", where the login, logout and session endpoints live. Pick another path, e.g. "/files".`;
      problems.push({ key, message });
    }
    const first = seen.get(path);
    if (first !== undefined) {
      const message = `"${entry.path}" is also the path of static[${first}]: each static path must be unique. Merge the entries or pick another path.`;
      problems.push({ key, message });
    } else {
      seen.set(path, i);
    }
  }
  return problems;
}
