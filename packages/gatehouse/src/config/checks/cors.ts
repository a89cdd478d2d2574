import type { ConfigProblem } from '../../errors.js';
import { parseOrigin } from '../origin.js';
import type { PartialConfig } from './types.js';

/** `cors`: no wildcard, no opaque origin, real origins only, and no allowlist in production. */
export function checkCors(c: PartialConfig): ConfigProblem[] {
  if (!c.cors) return [];
  const { allowOrigins, allowCredentials } = c.cors;
  const key = 'cors.allowOrigins';
  const fix =
    'Gatehouse serves the SPA and the API from one origin, so CORS is not needed; in development, list the dev server, e.g. ["http://localhost:5173"].';
  // Fetch standard §3.2.5 (CORS protocol and credentials): "*" never works with credentials, and
  // reflecting any origin with credentials lets every site read the user's data.
  if (allowOrigins === '*' || allowOrigins === true) {
    const what = allowOrigins === '*' ? '"*"' : 'true (reflect any origin)';
    const why = allowCredentials
      ? 'with credentials, any site the user visits could call the API as the user and read the answers (Fetch standard §3.2.5, CORS protocol and credentials)'
      : "any site could read the gateway's responses, and a wildcard is never needed here";
    return [{ key, message: `${what} is refused: ${why}. ${fix}` }];
  }
  const problems: ConfigProblem[] = [];
  for (const [i, entry] of allowOrigins.entries()) {
    const entryKey = `${key}[${i}]`;
    if (entry === '*') {
      problems.push({ key: entryKey, message: `"*" is refused: any site could read the user's data. ${fix}` });
    } else if (entry === 'null') {
      // Opaque origins serialize as "null" (HTML Standard, "Origins"): sandboxed iframes, data: and file: pages all send it.
      const message =
        '"null" is refused: sandboxed iframes and data: or file: pages all send Origin: null, so any site can claim it. List real origins only.';
      problems.push({ key: entryKey, message });
    } else {
      const parsed = parseOrigin(entry);
      if ('error' in parsed) {
        const message = `"${entry}" is not an origin (${parsed.error}): write scheme://host[:port] only, e.g. "http://localhost:5173".`;
        problems.push({ key: entryKey, message });
      }
    }
  }
  if (allowOrigins.length > 0 && c.mode === 'production') {
    const message = `a CORS allowlist is refused in production: every listed origin could call the API with the user's session. ${fix} Remove the key, or set "mode": "development" for local work.`;
    problems.push({ key, message });
  }
  return problems;
}
