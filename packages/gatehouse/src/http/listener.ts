import type { Server as HttpServer, ServerOptions as HttpServerOptions, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { type RawRefusal, writeRawRefusal } from './raw-refusal.js';

/**
 * The public listener's connection bounds (config `listen`, durations in milliseconds). Every
 * connection holds a descriptor and memory until it ends, so each stage of its life is bounded:
 * the TLS handshake, the wait for a first request, the request's headers and body, the idle time
 * between keep-alive requests, the number of connections at once, and the drain on shutdown.
 * @see https://owasp.org/www-community/attacks/Slowloris_HTTP_DoS
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Denial_of_Service_Cheat_Sheet.html
 */
export interface ListenerLimits {
  /** A TLS handshake not finished after this long is dropped (Node's default is 120 s). */
  handshakeTimeout: number;
  /** A connection that has sent no request this long after it opened (after TLS) is closed. */
  firstRequestTimeout: number;
  /** All headers of a request must arrive within this long (Node's `headersTimeout`). */
  headersTimeout: number;
  /** The whole request, body included, must arrive within this long (Node's `requestTimeout`). */
  requestTimeout: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeout: number;
  /**
   * A response the client has stopped reading (nothing of it accepted for this long) is cut and
   * its connection destroyed (nginx's `send_timeout`). A response still waiting for its upstream
   * is not: only a stall with bytes queued for the client counts.
   */
  sendTimeout: number;
  /** Connections open at once; beyond it, new ones are closed as they arrive. */
  maxConnections: number;
  /** On close, requests in flight get this long; then every remaining connection is closed. */
  shutdownTimeout: number;
}

/** How long a refused connection may stay open for the client to read the refusal. */
const CLIENT_ERROR_LINGER_MS = 5_000;

/**
 * Fastify's and Node's server options for the limits. `tls` goes into the TLS options only
 * (`https.createServer`), `server` into either server's options.
 */
export function listenerOptions(limits: ListenerLimits): {
  fastify: { requestTimeout: number; keepAliveTimeout: number };
  server: HttpServerOptions;
  tls: { handshakeTimeout: number };
} {
  // Node enforces headersTimeout/requestTimeout on a timer (default every 30 s): check often
  // enough that the bounds mean what they say, without a timer per connection.
  const checkEvery = Math.min(1_000, Math.max(100, Math.floor(Math.min(limits.headersTimeout, limits.requestTimeout) / 4)));
  return {
    // Fastify writes these two onto the server it creates (overwriting server options).
    fastify: { requestTimeout: limits.requestTimeout, keepAliveTimeout: limits.keepAliveTimeout },
    server: { headersTimeout: limits.headersTimeout, requestTimeout: limits.requestTimeout, connectionsCheckingInterval: checkEvery },
    tls: { handshakeTimeout: limits.handshakeTimeout },
  };
}

/** The connection's peer as `address|port`: the raw socket and its TLS socket report the same one. */
function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** A 'timeout' listener shared by every socket (`this` is the socket): never used, so closed. */
function closeUnused(this: Duplex): void {
  this.destroy();
}

/**
 * A response's 'timeout' (Node emits it when its socket saw no progress for `sendTimeout`; a
 * listener here keeps Node from destroying the socket itself). Bytes still queued for the client
 * mean it stopped reading (a slow-read attack: the connection and the file or upstream behind the
 * response were held for good, beyond every other bound); an empty queue means the answer is
 * still being prepared (a slow upstream), which its own timeout bounds.
 * @see https://owasp.org/www-community/attacks/Slow_Read_DoS (CWE-400)
 */
function cutStalledResponse(this: ServerResponse): void {
  const socket = this.socket;
  if (socket && socket.writableLength > 0) socket.destroy();
}

/**
 * Applies the limits Node only takes after creation, closes connections that never send a
 * request, and makes `app.close()` finish: connections without a request in flight are closed at
 * once, the rest after `shutdownTimeout`.
 */
export function hardenListener(app: FastifyInstance, limits: ListenerLimits): void {
  const server = app.server as HttpServer;
  server.maxConnections = limits.maxConnections;
  const tls = 'setSecureContext' in server;
  /** Every accepted TCP connection (under TLS: the socket beneath the TLS socket). */
  const connections = new Set<Socket>();
  /** TLS only: TCP connections whose handshake has not finished, by peer. */
  const handshaking = new Map<string, Socket>();
  /** Connections (after TLS) that have not sent a first request yet. */
  const unused = new Set<Duplex>();

  const awaitFirstRequest = (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
    socket.setTimeout(limits.firstRequestTimeout);
    socket.once('timeout', closeUnused);
  };

  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    if (!tls) return awaitFirstRequest(socket);
    const key = peerKey(socket);
    handshaking.set(key, socket);
    socket.once('close', () => {
      if (handshaking.get(key) === socket) handshaking.delete(key);
    });
  });
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      handshaking.delete(peerKey(socket));
      awaitFirstRequest(socket);
    });
  }
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    // From here on Node's own bounds apply (headers/request timeouts, then keep-alive), and the
    // send bound for each response. Node resets the socket's timeout when a kept-alive
    // connection sends its next request, so this is set again on every request.
    if (unused.delete(socket)) socket.off('timeout', closeUnused);
    socket.setTimeout(limits.sendTimeout);
    response.on('timeout', cutStalledResponse);
  });

  // Beyond maxConnections Node closes each new connection as it arrives ('drop'); say so, at most
  // once a minute, so an operator sees why clients are refused.
  let dropped = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  server.on('drop', () => {
    dropped++;
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    app.log.warn({ dropped, maxConnections: limits.maxConnections }, 'listen.maxConnections reached: new connections are closed');
    dropped = 0;
  });

  app.addHook('preClose', (done) => {
    if (!server.listening) return done();
    // Nothing can be answered on these: no handshake yet, or no request to finish. Node's
    // server.close() (next) closes the idle keep-alive connections itself.
    for (const socket of handshaking.values()) socket.destroy();
    for (const socket of unused) socket.destroy();
    const force = setTimeout(() => {
      server.closeAllConnections();
      for (const socket of connections) socket.destroy();
    }, limits.shutdownTimeout);
    force.unref();
    server.once('close', () => clearTimeout(force));
    done();
  });
}

/**
 * Node's `clientError`: HTTP the parser could not read (oversized headers, garbage, a request that
 * timed out) is answered on the raw socket in the gateway's JSON shape, then the connection is
 * closed. Anything else — a TLS error or handshake timeout (the peer never finished TLS, so a
 * plaintext answer would only sit in a buffer), a reset, a socket that cannot be written — is
 * destroyed at once: answering it with `end()` left it open for good (CLOSE-WAIT), one
 * descriptor per silent connection.
 */
export function answerClientError(error: Error, socket: Duplex): void {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const httpError = code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (!httpError) {
    socket.destroy();
    return;
  }
  const refusal: RawRefusal =
    code === 'HPE_HEADER_OVERFLOW'
      ? { status: 431, reason: 'Request Header Fields Too Large', body: { error: 'headers_too_large', message: 'The request headers are too large.' } }
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? { status: 408, reason: 'Request Timeout', body: { error: 'invalid_request', message: 'The request took too long to arrive.' } }
        : { status: 400, reason: 'Bad Request', body: { error: 'invalid_request', message: 'Malformed HTTP request.' } };
  // A client that never reads or closes must not keep the connection: end() alone waits for it.
  writeRawRefusal(socket, refusal, CLIENT_ERROR_LINGER_MS);
}
