import type { ConfigProblem } from '../../errors.js';
import { forwardHeaderProblem } from '../../util/header-families.js';
import { isUnderPrefix as within } from '../../util/path-prefix.js';
import type { PartialConfig } from './types.js';

/** Paths Gatehouse answers itself: an API route must not take them over. */
export const RESERVED_PATHS: readonly string[] = ['/.well-known', '/healthz', '/readyz', '/metrics'];

/** `apis[]`: paths of their own, a plain upstream URL, and a token mode that fits the route's auth. */
export function checkApis(c: PartialConfig): ConfigProblem[] {
  if (!c.apis) return [];
  const problems: ConfigProblem[] = [];
  const authPrefix = c.auth?.prefix;
  const cookieName = c.session?.cookie.name ?? '__Host-gatehouse';
  const seen = new Map<string, number>();
  c.apis.forEach((api, i) => {
    const key = (name: string) => `apis[${i}].${name}`;
    // Route paths are matched strictly; a trailing slash or the root would be ambiguous or take the whole site.
    if (api.path === '/' || api.path.endsWith('/') || api.path.includes('//')) {
      problems.push({ key: key('path'), message: `"${api.path}" must be a prefix such as "/api/orders": not "/", no trailing or double slash.` });
    }
    if (authPrefix !== undefined && (within(api.path, authPrefix) || within(authPrefix, api.path))) {
      problems.push({ key: key('path'), message: `"${api.path}" overlaps auth.prefix "${authPrefix}", where the login and session endpoints live. Use e.g. "/api/…".` });
    }
    for (const mount of c.static ?? []) {
      if (within(api.path, mount.path) || within(mount.path, api.path)) {
        problems.push({ key: key('path'), message: `"${api.path}" overlaps the static path "${mount.path}". Use a path of its own, e.g. "/api/…".` });
      }
    }
    for (const reserved of RESERVED_PATHS) {
      if (within(api.path, reserved) || within(reserved, api.path)) {
        problems.push({ key: key('path'), message: `"${api.path}" overlaps "${reserved}", which Gatehouse answers itself.` });
      }
    }
    const first = seen.get(api.path);
    if (first !== undefined) {
      problems.push({ key: key('path'), message: `"${api.path}" is also the path of apis[${first}]: each API path must be unique.` });
    } else {
      seen.set(api.path, i);
    }
    // A route nested in another would be reachable through the outer one by any spelling the
    // upstream normalises differently ("/api/pub/ADMIN", "/api/pub/admin;x"), without its checks.
    c.apis?.forEach((other, j) => {
      if (j !== i && other.path !== api.path && within(api.path, other.path)) {
        problems.push({
          key: key('path'),
          message: `"${api.path}" is inside apis[${j}].path "${other.path}": its stricter rules could be bypassed through the outer route. Give each API a path of its own (e.g. "/api/admin" beside "/api/public").`,
        });
      }
    });
    let url: URL | undefined;
    try {
      url = new URL(api.upstream);
    } catch {
      problems.push({ key: key('upstream'), message: `"${api.upstream}" is not a URL: write e.g. "http://127.0.0.1:4000" or "https://orders.internal/v1".` });
    }
    if (url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        problems.push({ key: key('upstream'), message: `"${api.upstream}" must be an http:// or https:// URL.` });
      } else if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || /[?#]/.test(api.upstream)) {
        // Credentials in a URL end up in logs (RFC 3986 §7.5); a query or fragment has no meaning as a base.
        problems.push({ key: key('upstream'), message: `"${api.upstream}" must not contain credentials, a query or a fragment: use token for credentials.` });
      }
    }
    if (api.auth === 'none' && (api.token === 'user' || api.token === 'internal')) {
      problems.push({ key: key('token'), message: `"${api.token}" needs a signed-in user, but auth is "none": set auth to "required" (or "optional"), or token to "none".` });
    }
    if (api.auth === 'none' && api.token === 'client-credentials') {
      // Anyone on the internet would call the upstream as Gatehouse itself (a confused deputy).
      problems.push({ key: key('token'), message: '"client-credentials" with auth "none" lends the gateway\'s own identity to anonymous callers: set auth to "required".' });
    }
    if (api.token === 'user' && c.providers !== undefined && c.providers.length === 0) {
      problems.push({ key: key('token'), message: '"user" forwards the access token of an OpenID Connect sign-in, but no providers are configured. Add providers[], or use token "internal".' });
    }
    if (api.token === 'internal' && api.audience === undefined) {
      problems.push({ key: key('audience'), message: 'required with token "internal": the upstream checks that the token names it (RFC 9068 §4), e.g. "orders-api".' });
    }
    if (api.token === 'client-credentials' && c.serviceClient === undefined) {
      problems.push({ key: key('token'), message: '"client-credentials" needs the serviceClient section (issuer, clientId, clientSecret).' });
    }
    if (api.roles !== undefined && api.auth !== 'required') {
      problems.push({ key: key('roles'), message: 'roles need auth "required": without a session there is no role to check.' });
    }
    api.forwardCookies.forEach((name, j) => {
      // Gatehouse's cookies authenticate the browser to Gatehouse only; an upstream holding them could replay the session.
      if (name.startsWith(cookieName) || name.toLowerCase().startsWith('__host-gatehouse')) {
        problems.push({ key: `apis[${i}].forwardCookies[${j}]`, message: `"${name}" is Gatehouse's own cookie: it never reaches an upstream. Remove it.` });
      }
    });
    // The allowlist can only narrow the default policy, never let a dropped family through.
    api.forwardHeaders?.forEach((name, j) => {
      const problem = forwardHeaderProblem(name);
      if (problem) problems.push({ key: `apis[${i}].forwardHeaders[${j}]`, message: problem });
    });
  });
  return problems;
}
