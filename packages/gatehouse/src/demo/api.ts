import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

/** The audience Gatehouse puts into the demo API's internal tokens (`apis[].audience`). */
export const DEMO_API_AUDIENCE = 'demo-api';

export interface DemoApiOptions {
  /** `iss` of the tokens: the gateway's public origin. */
  issuer: string;
  /** Where the gateway publishes its keys (`<gateway>/.well-known/jwks.json`). */
  jwksUrl: string;
  /** PEM CA that signs the gateway's certificate (the demo's self-signed one); default: system CAs. */
  ca?: string;
}

export interface DemoApi {
  origin: string;
  close(): Promise<void>;
}

/**
 * The demo's API: a separate HTTP server on its own loopback port, an upstream like any other.
 * It trusts nothing but the bearer token: it verifies Gatehouse's internal token against the
 * published JWKS (signature, `iss`, `aud`, `exp`, `typ: at+jwt` — RFC 9068 §4) and echoes who
 * called it. It never sees the browser's cookie. See docs/upstreams.md.
 */
export async function startDemoApi(options: DemoApiOptions): Promise<DemoApi> {
  const dispatcher = options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined;
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    ...(dispatcher ? { [customFetch]: (url: string, init: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response> } : {}),
  });
  const server: Server = createServer(async (request, response) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
      response.end(JSON.stringify(body));
    };
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return json(401, { error: 'invalid_token', message: 'No bearer token.' }, { 'www-authenticate': 'Bearer' });
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: DEMO_API_AUDIENCE, typ: 'at+jwt', algorithms: ['ES256', 'RS256'] }));
    } catch (error) {
      const reason = error instanceof errors.JOSEError ? error.code : 'ERR_UNKNOWN';
      // RFC 6750 §3: tell the client (here: Gatehouse) why, in WWW-Authenticate.
      return json(401, { error: 'invalid_token', message: reason }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' || path !== '/hello') return json(404, { error: 'not_found' });
    const name = payload.name ?? payload.preferred_username ?? payload.sub;
    json(200, {
      message: `Hello, ${String(name)}!`,
      user: { id: payload.sub, username: payload.preferred_username, name: payload.name, email: payload.email, roles: payload.roles },
      token: { iss: payload.iss, aud: payload.aud, client_id: payload.client_id, iat: payload.iat, exp: payload.exp, jti: payload.jti },
      servedBy: 'demo API upstream (verified the internal token against the gateway JWKS)',
      servedAt: new Date().toISOString(),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          dispatcher?.close().catch(() => {});
          resolve();
        });
      }),
  };
}
