// A gateway with API routes to a real echo upstream, and a second upstream that no route names
// (it must never see a request).
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { SigningKeyRing } from '../../src/tokens/signing-keys.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { closedPort, type Echo, startEcho } from './echo.js';

export interface ProxyFixture {
  gw: TestGateway;
  echo: Echo;
  /** An upstream no route points at. */
  unlisted: Echo;
  signingKeys: SigningKeyRing;
  close(): Promise<void>;
}

export function apis(echo: Echo, unlisted: Echo, downPort: number): NonNullable<GatehouseConfigInput['apis']> {
  return [
    { path: '/api/open', upstream: `${echo.origin}/base`, auth: 'none' },
    { path: '/api/maybe', upstream: echo.origin, auth: 'optional', token: 'internal', audience: 'maybe-api' },
    { path: '/api/orders', upstream: `${echo.origin}/svc/orders/`, auth: 'required', token: 'internal', audience: 'orders-api' },
    { path: '/api/plain', upstream: echo.origin, auth: 'required' },
    { path: '/api/admin', upstream: echo.origin, auth: 'required', roles: ['admin'] },
    { path: '/api/cookies', upstream: echo.origin, auth: 'required', forwardCookies: ['theme'], allowSetCookie: true },
    { path: '/api/read', upstream: echo.origin, auth: 'required', methods: ['GET'] },
    { path: '/api/slow', upstream: echo.origin, auth: 'none', timeout: '300ms' },
    { path: '/api/down', upstream: `http://127.0.0.1:${downPort}`, auth: 'none' },
    { path: '/api/ws', upstream: `${echo.origin}/sockets`, auth: 'required', token: 'internal', audience: 'ws-api', websocket: true },
    { path: '/internal-unused', upstream: `${unlisted.origin}/never`, auth: 'none', methods: ['DELETE'] },
  ];
}

/**
 * @param extraApis routes added to {@link apis}, given the echo upstream's origin (e.g. an
 * allowlist route for one test file).
 */
export async function proxyFixture(
  overrides: Partial<GatehouseConfigInput> = {},
  extraApis: (echoOrigin: string) => NonNullable<GatehouseConfigInput['apis']> = () => [],
): Promise<ProxyFixture> {
  const echo = await startEcho();
  const unlisted = await startEcho();
  const signingKeys = await SigningKeyRing.inMemory();
  const gw = await testGateway({ apis: [...apis(echo, unlisted, await closedPort()), ...extraApis(echo.origin)], ...overrides }, { signingKeys });
  return {
    gw,
    echo,
    unlisted,
    signingKeys,
    close: async () => {
      await gw.close();
      await echo.close();
      await unlisted.close();
    },
  };
}

/** `gatehouse dev` in front of an echo "dev server", listening: what the dev server received is `dev.seen`. */
export interface DevServerFixture {
  dev: Echo;
  gw: TestGateway;
  origin: string;
  close(): Promise<void>;
}

export async function devServerFixture(): Promise<DevServerFixture> {
  const dev = await startEcho();
  const gw = await testGateway({ spa: { upstream: dev.origin } });
  const origin = await listen(gw);
  return {
    dev,
    gw,
    origin,
    close: async () => {
      await gw.close();
      await dev.close();
    },
  };
}

/** Listens on a loopback port; returns the origin. */
export async function listen(gw: TestGateway): Promise<string> {
  await gw.gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gw.gatehouse.app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * One request with the request target written byte for byte (fetch and inject() would
 * normalize "..", "%2e" and "//" before sending). Headers as pairs keep duplicates, case and
 * names Node's client would refuse. Resolves with the status and body.
 */
export function rawRequest(
  origin: string,
  target: string,
  headers: Record<string, string> | ReadonlyArray<readonly [string, string]> = {},
  method = 'GET',
  body = '',
): Promise<{ status: number; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
    const lines = [`${method} ${target} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...(Array.isArray(headers) ? headers : Object.entries(headers)).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}
