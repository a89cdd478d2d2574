import type { ConfigProblem } from '../../errors.js';
import { isLoopbackHost, parseOrigin } from '../origin.js';
import type { PartialConfig } from './types.js';

/**
 * The `spa` section: a built directory (`root`) or, in development only, a dev server
 * (`upstream`, what `gatehouse dev` fronts). Exactly one of them. Part of `validateConfig`.
 */
export function checkSpa(c: PartialConfig): ConfigProblem[] {
  const spa = c.spa;
  if (!spa) return [];
  if (spa.root !== undefined && spa.upstream !== undefined) {
    const message =
      'set exactly one of "spa.root" (the built SPA) and "spa.upstream" (a dev server): both are set. Remove "root" while you work against the dev server.';
    return [{ key: 'spa.upstream', message }];
  }
  if (spa.upstream === undefined) {
    if (spa.root !== undefined) return [];
    return [{ key: 'spa.root', message: 'required: add "root" (the directory of the built SPA, e.g. "./dist"), or, in development, "upstream" (a dev server such as "http://localhost:5173").' }];
  }
  const key = 'spa.upstream';
  const problems: ConfigProblem[] = [];
  // A dev server serves unbuilt source, source maps and its own file-system endpoints to whoever
  // asks, with no hardening: it must never face production users (Vite: "server options are not
  // meant for production"; OWASP ASVS V14.1: no development features in production).
  if (c.mode === 'production') {
    const message =
      'development only: a dev server serves unbuilt source and its own file endpoints and must never face production users. Build the SPA (e.g. `vite build`) and set "spa.root" to the output directory, or set "mode": "development" for local work (`gatehouse dev` does).';
    problems.push({ key, message });
  }
  const parsed = parseOrigin(spa.upstream);
  if ('error' in parsed) {
    // Requests keep their path (the dev server's `base` is the browser's path), so a base path has no meaning here.
    const message = `"${spa.upstream}" is not an origin (${parsed.error}): write the dev server's scheme://host:port only, e.g. "http://localhost:5173"; paths are forwarded unchanged.`;
    return [...problems, { key, message }];
  }
  const { url } = parsed;
  // Requests to the dev server travel in clear and the dev server trusts whoever connects:
  // only a server on this machine keeps both off the network.
  if (!isLoopbackHost(url.hostname)) {
    const message = `"${spa.upstream}" is not on this machine: a dev server must listen on a loopback address ("localhost", "127.0.0.1" or "[::1]"), because the traffic to it is not encrypted and it answers anyone who reaches it.`;
    problems.push({ key, message });
  }
  // The gateway forwards with its own Host, so the dev server's localhost-only guards (Vite's
  // `server.allowedHosts`, its file-system deny list assumes a local developer) no longer apply:
  // listening beyond this machine would hand the LAN the project's source, with no session.
  if (c.listen !== undefined && !isLoopbackHost(c.listen.host)) {
    const message = `a dev server may only be fronted on a loopback listener, but listen.host is "${c.listen.host}": use "127.0.0.1" or "localhost" (\`gatehouse dev --host\`), or build the SPA and set "spa.root" to share it.`;
    problems.push({ key, message });
  }
  if (pointsAtGateway(url, c)) {
    const message = `"${spa.upstream}" is the gateway itself, which would proxy every page to itself. Point it at the dev server's port (Vite's default is 5173).`;
    problems.push({ key, message });
  }
  return problems;
}

/** Same port as the listener on a loopback address, or the public origin itself. */
function pointsAtGateway(url: URL, c: PartialConfig): boolean {
  const port = (u: URL) => Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  if (c.publicOrigin !== undefined && URL.canParse(c.publicOrigin) && new URL(c.publicOrigin).origin === url.origin) return true;
  return c.listen !== undefined && c.listen.port === port(url) && isLoopbackHost(c.listen.host) && isLoopbackHost(url.hostname);
}
