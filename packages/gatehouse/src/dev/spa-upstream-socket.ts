import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { GatehouseError } from '../errors.js';
import { upstreamRequestHeaders } from '../proxy/headers.js';
import { checkProxyPath, upstreamTarget } from '../proxy/path.js';
import { bridge, checkHandshakeOrigin, handshakeProtocols, relayServer } from '../proxy/websocket.js';
import { isReserved } from './reserved.js';

/** What {@link devServerSockets} needs. */
export interface DevServerSocketOptions {
  /** The dev server's origin. */
  upstream: string;
  publicOrigin: string;
  /** Never sent to the dev server (see `SpaUpstreamOptions.reservedPrefixes`). */
  reservedPrefixes: readonly string[];
  cookiePrefix: string;
  /** The client address sent upstream in X-Forwarded-For. */
  clientIp: (request: IncomingMessage) => string;
  log: FastifyBaseLogger;
}

/** The dev server's WebSocket upgrades, handed over by `attachWebSocketProxy`. */
export interface DevServerSockets {
  /** Handles one upgrade; a rejection carries the {@link GatehouseError} to answer with. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Closes every relayed connection (on shutdown). */
  close(): void;
}

/** Longest wait for the dev server's side of the handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * WebSocket upgrades that are no API route go to the dev server: Vite's HMR socket (path `/`,
 * subprotocol `vite-hmr`, and `vite-ping` when it reconnects), or whatever path a dev server
 * uses. The same rules as API WebSockets: the handshake's `Origin` must be the public origin
 * (RFC 6455 §10.2, cross-site WebSocket hijacking), and the upstream is connected first. Unlike
 * an API route there is no session and no credential: Cookie and Authorization are dropped, like
 * every header an upstream never gets (`proxy/headers.ts`). The query (Vite's `token`) passes.
 */
export function devServerSockets(options: DevServerSocketOptions): DevServerSockets {
  const wss = relayServer();
  const upstream = new URL(options.upstream);
  const publicUrl = new URL(options.publicOrigin);
  return {
    async upgrade(request, socket, head) {
      const rawUrl = request.url ?? '';
      if (isReserved(rawUrl, options.reservedPrefixes)) throw new GatehouseError('not_found');
      const protocols = handshakeProtocols(request);
      if (!protocols) throw new GatehouseError('invalid_request');
      const checked = checkProxyPath(rawUrl, '');
      if (!checked.ok) throw new GatehouseError('path_rejected');
      const failure = checkHandshakeOrigin(request, options.publicOrigin);
      if (failure) {
        options.log.info({ csrf: failure }, 'dev server websocket: cross-site upgrade refused');
        throw new GatehouseError('cross_site_rejected');
      }
      const headers = upstreamRequestHeaders(
        request.headers,
        { forwardCookies: [], gatehouseCookiePrefix: options.cookiePrefix },
        { clientIp: options.clientIp(request), proto: publicUrl.protocol.slice(0, -1), host: publicUrl.host },
      );
      const target = upstreamTarget(upstream, checked.rest, checked.query).replace(/^http/, 'ws');
      try {
        await bridge(wss, request, socket, head, { target, protocols, headers, timeout: HANDSHAKE_TIMEOUT_MS });
      } catch (error) {
        if (error instanceof GatehouseError && error.code === 'upstream_unavailable') {
          throw new GatehouseError('upstream_unavailable', { message: `The dev server (${upstream.origin}) refused or did not answer the WebSocket.`, cause: error });
        }
        throw error;
      }
    },
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
