import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import type { ApiConfig } from '../config/schema.js';
import { type CsrfFailure, checkRequestOrigin } from '../csrf/check.js';
import { type ErrorCode, GatehouseError } from '../errors.js';
import { refuseRaw } from '../http/raw-refusal.js';
import { hasRole, type SessionGuard } from '../session/guard.js';
import type { SessionRecord } from '../session/model.js';
import { isUnderPrefix, pathOfTarget } from '../util/path-prefix.js';
import { type CredentialSources, routeCredentials } from './credentials.js';
import { forwardHeaderSet, upstreamRequestHeaders } from './headers.js';
import { hasRepeatedHost } from '../http/request.js';
import { checkProxyPath, upstreamTarget } from './path.js';

export interface WebSocketProxyOptions {
  apis: readonly ApiConfig[];
  publicOrigin: string;
  /** Gatehouse's cookie name prefix (never forwarded). */
  cookiePrefix: string;
  /** The session named by a Cookie header, or null. */
  resolveSession: SessionGuard['resolveSession'];
  sources: CredentialSources;
  /** The client address (trustProxy-aware). */
  clientIp: (request: IncomingMessage) => string;
  log: FastifyBaseLogger;
  /**
   * Upgrades that match no `websocket: true` route (in development, the dev server's HMR socket:
   * see `dev/`); a rejection is answered like a route's refusal. Without it they are refused with 404.
   */
  fallback?: (request: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void> | void;
}

/** Handshake fields the upstream connection makes for itself (RFC 6455 §4.1). */
const HANDSHAKE = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-accept', 'sec-websocket-protocol'];

/**
 * WebSocket upgrades on routes with `websocket: true`: authenticated by the session cookie,
 * refused unless `Origin` is the public origin (RFC 6455 §10.2; browsers do not apply CORS or
 * SameSite-independent checks to WebSockets, so this is the defence against cross-site
 * WebSocket hijacking), then connected to the upstream with the route's credentials and
 * relayed both ways. The upstream is connected first, so a refused or unreachable upstream is
 * an HTTP error to the browser, never an accepted socket that closes at once.
 * Returns a function that closes every relayed connection (on shutdown).
 */
export function attachWebSocketProxy(server: Server, options: WebSocketProxyOptions): () => void {
  const routes = options.apis
    .filter((api) => api.websocket)
    .map((api) => ({ api, upstream: new URL(api.upstream), forwardHeaders: forwardHeaderSet(api) }))
    // Longest prefix first, the way the HTTP router picks the most specific route.
    .sort((a, b) => b.api.path.length - a.api.path.length);
  const wss = relayServer();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    upgrade(request, socket, head).catch((error: unknown) => {
      const code: ErrorCode = error instanceof GatehouseError ? error.code : 'internal_error';
      if (code === 'internal_error') options.log.error({ err: error }, 'websocket upgrade failed');
      refuseRaw(socket, code);
    });
  };

  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const rawUrl = request.url ?? '';
    // RFC 9112 §3.2: more than one Host is a 400, for upgrades as for every other request.
    if (hasRepeatedHost(request.rawHeaders)) return refuseRaw(socket, 'invalid_request');
    // The raw path, as checkProxyPath reads it: a route is matched by the bytes the client sent.
    const path = pathOfTarget(rawUrl);
    const match = routes.find(({ api }) => isUnderPrefix(path, api.path));
    if (!match && options.fallback) return options.fallback(request, socket, head);
    if (!match || request.method !== 'GET') return refuseRaw(socket, 'not_found');
    const { api, upstream, forwardHeaders } = match;
    const protocols = handshakeProtocols(request);
    if (!protocols) return refuseRaw(socket, 'invalid_request');
    const checked = checkProxyPath(rawUrl, api.path);
    if (!checked.ok) return refuseRaw(socket, 'path_rejected');
    // RFC 6455 §10.2: the Origin of a browser handshake must be checked; absent or foreign is refused.
    const failure = checkHandshakeOrigin(request, options.publicOrigin);
    if (failure) {
      options.log.info({ path: api.path, csrf: failure }, 'websocket cross-site upgrade refused');
      return refuseRaw(socket, 'cross_site_rejected');
    }
    let session: SessionRecord | null = null;
    if (api.auth !== 'none') {
      session = await options.resolveSession(request.headers.cookie);
      if (!session && api.auth === 'required') return refuseRaw(socket, 'unauthenticated');
      if (session && !hasRole(session.user, api.roles)) return refuseRaw(socket, 'forbidden');
    }
    const credentials = await routeCredentials(api, session, options.sources);
    const publicUrl = new URL(options.publicOrigin);
    const headers = upstreamRequestHeaders(
      request.headers,
      // The route's header policy, allowlist included: an upgrade is a request like any other.
      { forwardCookies: api.forwardCookies, gatehouseCookiePrefix: options.cookiePrefix, forwardHeaders },
      {
        authorization: credentials.authorization,
        userId: credentials.session?.userId,
        clientIp: options.clientIp(request),
        proto: publicUrl.protocol.slice(0, -1),
        host: publicUrl.host,
      },
    );
    const target = upstreamTarget(upstream, checked.rest, checked.query).replace(/^http/, 'ws');
    const pair = await bridge(wss, request, socket, head, { target, protocols, headers, timeout: api.timeout });
    if (session) watchSession(pair.browser, pair.upstream, request.headers.cookie, options.resolveSession);
  };

  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
}

/**
 * The subprotocols of a well-formed handshake, or null for one the WebSocket server would refuse
 * (RFC 6455 §4.2.1). Checked before any upstream is dialled, so no upstream connection is left
 * without a browser side. Subprotocols are tokens (RFC 6455 §4.1), each named once.
 */
export function handshakeProtocols(request: IncomingMessage): string[] | null {
  const key = request.headers['sec-websocket-key'];
  if (
    request.method !== 'GET' ||
    request.headers['sec-websocket-version'] !== '13' ||
    typeof key !== 'string' ||
    !/^[+/0-9A-Za-z]{22}==$/.test(key) ||
    String(request.headers.upgrade).toLowerCase() !== 'websocket'
  ) {
    return null;
  }
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (protocols.some((p) => !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) || new Set(protocols).size !== protocols.length) return null;
  return protocols;
}

/**
 * Cross-site WebSocket hijacking defence (RFC 6455 §10.2): the handshake's `Origin` must be the
 * public origin; an absent one is refused too (every browser sends it). Null when it passes.
 */
export function checkHandshakeOrigin(request: IncomingMessage, publicOrigin: string): CsrfFailure | null {
  const origin = request.headers.origin;
  const secFetchSite = request.headers['sec-fetch-site'];
  if (origin === undefined) return 'origin_mismatch';
  return checkRequestOrigin({ origin, secFetchSite: Array.isArray(secFetchSite) ? secFetchSite[0] : secFetchSite }, publicOrigin);
}

/** The subprotocol each upstream chose, offered to its browser (RFC 6455 §4.2.2). */
const chosenProtocol = new WeakMap<IncomingMessage, string>();

/** A WebSocket server for the browser side of relayed connections (attach with `handleUpgrade`). */
export function relayServer(): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  // The browser is offered exactly the subprotocol the upstream chose (RFC 6455 §4.2.2).
  wss.options.handleProtocols = (_protocols, request) => chosenProtocol.get(request) ?? false;
  return wss;
}

/** Where {@link bridge} connects, and how. */
export interface BridgeTarget {
  /** ws:// or wss:// URL. */
  target: string;
  protocols: string[];
  /** Headers for the upstream handshake; the handshake's own fields are dropped. */
  headers: Record<string, string | string[]>;
  /** Longest wait for the upstream's handshake, in milliseconds. */
  timeout: number;
}

/**
 * Connects to the upstream first, then completes the browser's handshake (on a
 * {@link relayServer}) with the subprotocol the upstream chose, and relays both ways. A refused
 * or unreachable upstream rejects with a {@link GatehouseError} (`upstream_unavailable` /
 * `upstream_timeout`), so the caller answers HTTP and never accepts a socket that closes at once.
 */
export async function bridge(
  wss: WebSocketServer,
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  to: BridgeTarget,
): Promise<{ browser: WebSocket; upstream: WebSocket }> {
  const headers = { ...to.headers };
  for (const name of HANDSHAKE) delete headers[name];
  const upstreamSocket = new WebSocket(to.target, to.protocols, {
    headers: headers as Record<string, string>,
    handshakeTimeout: to.timeout,
    perMessageDeflate: false,
    followRedirects: false,
  });
  const connected = new Promise<void>((resolve, reject) => {
    upstreamSocket.once('open', () => {
      // Hold the upstream's first messages until the browser side exists to receive them.
      upstreamSocket.pause();
      resolve();
    });
    upstreamSocket.once('unexpected-response', (upstreamRequest, res) => {
      res.resume();
      upstreamRequest.destroy();
      reject(new GatehouseError('upstream_unavailable', { message: `The upstream refused the WebSocket (${res.statusCode}).` }));
    });
    upstreamSocket.once('error', (error) => {
      const timedOut = /timed out/i.test(error.message);
      reject(new GatehouseError(timedOut ? 'upstream_timeout' : 'upstream_unavailable', { cause: error }));
    });
    socket.once('close', () => reject(new GatehouseError('invalid_request')));
  });
  try {
    await connected;
  } catch (error) {
    upstreamSocket.terminate();
    throw error;
  }
  if (upstreamSocket.protocol) chosenProtocol.set(request, upstreamSocket.protocol);
  return new Promise((resolve, reject) => {
    // If the browser side never completes, the authenticated upstream socket must not linger.
    let upgraded = false;
    const abandon = setTimeout(() => upstreamSocket.terminate(), 10_000);
    socket.once('close', () => {
      clearTimeout(abandon);
      if (upgraded) return;
      upstreamSocket.terminate();
      reject(new GatehouseError('invalid_request'));
    });
    wss.handleUpgrade(request, socket, head, (browser) => {
      upgraded = true;
      clearTimeout(abandon);
      relay(browser, upstreamSocket);
      upstreamSocket.resume();
      resolve({ browser, upstream: upstreamSocket });
    });
  });
}

/** How often an open WebSocket re-checks its session. */
export const SESSION_RECHECK_MS = 15_000;

/**
 * A WebSocket lives as long as its session: after logout, revocation or expiry the next check
 * (at most {@link SESSION_RECHECK_MS} later) closes both sides with 1008 (policy violation).
 */
function watchSession(
  browser: WebSocket,
  upstream: WebSocket,
  cookie: string | undefined,
  resolveSession: (cookie: string | undefined) => Promise<SessionRecord | null>,
): void {
  const timer = setInterval(() => {
    resolveSession(cookie).then(
      (live) => {
        if (live) return;
        browser.close(1008, 'session ended');
        upstream.close(1008, 'session ended');
      },
      () => undefined, // store unavailable: keep the connection; the next check decides
    );
  }, SESSION_RECHECK_MS);
  timer.unref();
  const stop = () => clearInterval(timer);
  browser.once('close', stop);
  upstream.once('close', stop);
}

/** Messages both ways, binary kept binary; a close on one side closes the other. */
function relay(browser: WebSocket, upstream: WebSocket): void {
  const closeCode = (code: number) => (code === 1005 || code === 1006 || code === 1015 ? 1000 : code);
  browser.on('message', (data, isBinary) => upstream.readyState === WebSocket.OPEN && upstream.send(data, { binary: isBinary }));
  upstream.on('message', (data, isBinary) => browser.readyState === WebSocket.OPEN && browser.send(data, { binary: isBinary }));
  browser.on('close', (code, reason) => upstream.readyState <= WebSocket.OPEN && upstream.close(closeCode(code), reason));
  upstream.on('close', (code, reason) => browser.readyState <= WebSocket.OPEN && browser.close(closeCode(code), reason));
  browser.on('error', () => upstream.terminate());
  upstream.on('error', () => browser.terminate());
}
