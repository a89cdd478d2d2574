import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode, GatehouseError } from '../errors.js';

/** A refusal written on a raw socket: the status line and the gateway's JSON error body. */
export interface RawRefusal {
  status: number;
  /** The status line's reason phrase (RFC 9112 §4: informative only). */
  reason: string;
  body: { error: string; message: string };
}

/**
 * Answers a connection Fastify never sees (a WebSocket upgrade, HTTP the parser could not read)
 * in the gateway's JSON shape, then closes it. A socket that can no longer take an answer is
 * destroyed at once: `end()` on it would leave it open for good (CLOSE-WAIT).
 *
 * @param lingerMs when set, the connection is destroyed this long after the answer if the client
 *   neither reads it nor closes (`end()` alone waits for the client).
 */
export function writeRawRefusal(socket: Duplex, refusal: RawRefusal, lingerMs?: number): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const json = JSON.stringify(refusal.body);
  socket.end(
    `HTTP/1.1 ${refusal.status} ${refusal.reason}\r\nConnection: close\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
  );
  if (lingerMs === undefined) return;
  const linger = setTimeout(() => socket.destroy(), lingerMs);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/**
 * {@link writeRawRefusal} of a registered error: its status, its code as the reason phrase, its
 * JSON body (what the WebSocket proxy answers a refused upgrade with).
 */
export function refuseRaw(socket: Duplex, code: ErrorCode): void {
  writeRawRefusal(socket, { status: ERRORS[code].status, reason: code, body: new GatehouseError(code).toJSON() });
}
