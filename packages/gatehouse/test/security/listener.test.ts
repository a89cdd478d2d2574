// Connection-level denial of service against the real HTTPS listener: silent TCP connections,
// TLS connections that never send a request, slow headers, too many connections, and a graceful
// stop with all of those still open. Everything runs over real sockets on loopback.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse } from '../../src/start.js';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import type { Gatehouse } from '../../src/server.js';
import { loadOrCreateSelfSigned } from '../../src/tls/self-signed.js';
import { SITE, testConfigInput } from '../helpers/gateway.js';
import { type Echo, startEcho } from '../proxy/echo.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-listener-'));
let cert: string;
const open: Socket[] = [];
const gateways: Gatehouse[] = [];

beforeAll(async () => {
  cert = (await loadOrCreateSelfSigned(dataDir)).cert;
});
afterEach(() => {
  for (const socket of open.splice(0)) socket.destroy();
});
afterAll(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

/** A real HTTPS gateway (self-signed certificate) with these `listen` bounds. */
async function httpsGateway(listen: Record<string, unknown>, overrides: Partial<GatehouseConfigInput> = {}): Promise<{ gatehouse: Gatehouse; port: number }> {
  const input = testConfigInput({ dataDir, listen: { host: '127.0.0.1', port: 0, tls: 'self-signed', ...listen }, ...overrides });
  const config = resolveConfig(input, { baseDir: SITE, env: {} });
  const gatehouse = await startGatehouse(config, { keys: createKeyRing([generateKey()]), logger: false });
  gateways.push(gatehouse);
  return { gatehouse, port: (gatehouse.app.server.address() as AddressInfo).port };
}

/** Sockets of the server's port in CLOSE-WAIT (state 08 in /proc/net/tcp{,6}): the peer closed, we never did. */
function closeWaitSockets(port: number): number {
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state === undefined) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && state === '08') count++;
    }
  }
  return count;
}

function serverConnections(gatehouse: Gatehouse): Promise<number> {
  return new Promise((resolve, reject) => gatehouse.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
}

/** Polls `probe` until `done` holds or `withinMs` passes; returns the last value for the assertion. */
async function settle<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, withinMs = 5_000): Promise<T> {
  const until = Date.now() + withinMs;
  let value = await probe();
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    value = await probe();
  }
  return value;
}

/**
 * A raw TCP connection that sends nothing. With `allowHalfOpen`, it does not answer the server's FIN
 * with its own, so the server side cannot be closed by anything the client does.
 */
function silentConnection(port: number, { allowHalfOpen = false } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen }, () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
    open.push(socket);
  });
}

/** A TLS connection that completes the handshake, then sends nothing. */
function tlsConnection(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: cert }, () => resolve(socket));
    socket.on('error', () => {});
    socket.once('error', reject);
    open.push(socket);
  });
}

/** Resolves when the socket is closed (by either side), with what it received. */
function closed(socket: Socket): Promise<string> {
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  return new Promise((resolve) => (socket.destroyed ? resolve(received) : socket.once('close', () => resolve(received))));
}

function get(port: number, path = '/healthz'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: cert, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listener: connections that never become requests', () => {
  it('OWASP Denial of Service Cheat Sheet (CWE-772): 50 TCP connections that never send a TLS ClientHello are destroyed after listen.handshakeTimeout — no CLOSE-WAIT left, no connection counted, and the next HTTPS request is answered', async () => {
    const handshakeTimeoutMs = 300;
    const { gatehouse, port } = await httpsGateway({ handshakeTimeout: `${handshakeTimeoutMs}ms` });
    let handshakeTimeouts = 0;
    gatehouse.app.server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') handshakeTimeouts++;
    });
    // Half-open clients that never end or destroy their side until the end of the test: if the
    // server only ended its side (or did nothing), the connections would stay open on the server.
    const sockets = await Promise.all(Array.from({ length: 50 }, () => silentConnection(port, { allowHalfOpen: true })));
    const closedByServer = new Set<Socket>();
    for (const socket of sockets) {
      // 'end': the server's FIN; 'close': its RST. The client itself closes nothing before the check.
      socket.once('end', () => closedByServer.add(socket));
      socket.once('close', () => closedByServer.add(socket));
    }
    expect(await settle(() => serverConnections(gatehouse), (n) => n === 50)).toBe(50);
    // Past the handshake bound: Node has handed every one of them to the clientError handler.
    expect(await settle(() => handshakeTimeouts, (n) => n === 50)).toBe(50);
    // Every connection closed by the server within the bound, with the clients still holding theirs open.
    expect(await settle(() => closedByServer.size, (n) => n === 50, handshakeTimeoutMs + 3_000)).toBe(50);
    expect(sockets.every((s) => !s.writableEnded)).toBe(true);
    // The server released every one of them although no client has sent its FIN.
    expect(await settle(() => serverConnections(gatehouse), (n) => n === 0)).toBe(0);
    for (const socket of sockets) socket.destroy();
    expect(await settle(() => closeWaitSockets(port), (n) => n === 0)).toBe(0);
    expect(await serverConnections(gatehouse)).toBe(0);
    const next = await get(port);
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toEqual({ ok: true });
  });

  it('OWASP Denial of Service Cheat Sheet: a connection that completes TLS but never sends a request is closed by the server after listen.firstRequestTimeout; one that sent a request is not cut by it', async () => {
    const { gatehouse, port } = await httpsGateway({ firstRequestTimeout: '300ms', keepAliveTimeout: '1h' });
    const idle = await tlsConnection(port);
    const idleClosed = closed(idle);
    // A kept-alive connection that was used: after the first request, only keepAliveTimeout applies.
    const used = await tlsConnection(port);
    const usedAnswer = new Promise<string>((resolve) => {
      let text = '';
      used.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('{"ok":true}')) resolve(text);
      });
    });
    used.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(await usedAnswer).toMatch(/^HTTP\/1\.1 200 /);
    expect(await idleClosed).toBe('');
    expect(idle.readableEnded || idle.destroyed).toBe(true);
    expect(used.destroyed).toBe(false);
    expect(await serverConnections(gatehouse)).toBe(1);
  });

  it('OWASP Denial of Service Cheat Sheet: an idle keep-alive connection is closed after listen.keepAliveTimeout', async () => {
    const { port } = await httpsGateway({ keepAliveTimeout: '300ms' });
    const socket = await tlsConnection(port);
    const received = closed(socket);
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const text = await received;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/keep-alive/i);
  });

  it('OWASP Slowloris: headers trickled one byte at a time are cut at listen.headersTimeout with 408 invalid_request, and the connection is closed', async () => {
    const { port } = await httpsGateway({ headersTimeout: '500ms', firstRequestTimeout: '1h' });
    const socket = await tlsConnection(port);
    const received = closed(socket);
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    // Never idle long enough for an inactivity timeout: only the headers bound can end this.
    const drip = setInterval(() => socket.writable && socket.write('a'), 50);
    const text = await received;
    clearInterval(drip);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'invalid_request', message: 'The request took too long to arrive.' });
  });
});

describe('listener: a client that stops reading the answer', () => {
  /** An SPA root with a file far larger than the loopback socket buffers, so an unread answer stalls. */
  function bigSpaRoot(): string {
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-slow-read-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>spa</title>');
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'assets', 'big.bin'), Buffer.alloc(48 * 1024 * 1024, 0x61));
    return root;
  }

  it('OWASP Slow Read DoS (CWE-400): connections that request a large file and never read it are destroyed after listen.sendTimeout — on the first request and on a later keep-alive request — with no CLOSE-WAIT and no connection left', async () => {
    const { gatehouse, port } = await httpsGateway(
      // Every other bound far beyond the test: only the send bound may end these connections.
      { sendTimeout: '300ms', firstRequestTimeout: '1h', keepAliveTimeout: '1h', headersTimeout: '1h', requestTimeout: '1h' },
      { spa: { root: bigSpaRoot() } },
    );
    const first = await Promise.all(Array.from({ length: 3 }, () => tlsConnection(port)));
    // A small answer first (Node resets the socket timeout for a kept-alive request), then the big one.
    const later = await Promise.all(Array.from({ length: 3 }, () => tlsConnection(port)));
    const everyClosed = Promise.all([...first, ...later].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    for (const socket of first) socket.write('GET /assets/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n');
    for (const socket of later) socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /assets/big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n');
    // Never read: the kernel buffers fill and the gateway's writes stall.
    for (const socket of [...first, ...later]) socket.pause();
    expect(await settle(() => serverConnections(gatehouse), (n) => n === 0, 10_000)).toBe(0);
    for (const socket of [...first, ...later]) socket.resume();
    await everyClosed;
    expect(closeWaitSockets(port)).toBe(0);
    const next = await get(port);
    expect(next.status).toBe(200);
  });

  it('OWASP Slow Read DoS: listen.sendTimeout does not cut a response still waiting for a slow upstream (nothing queued for the client)', async () => {
    let echo: Echo | undefined;
    try {
      echo = await startEcho();
      const { port } = await httpsGateway({ sendTimeout: '200ms' }, { apis: [{ path: '/api/slow', upstream: echo.origin, auth: 'none' }] });
      const answer = await get(port, '/api/slow/slow/1000');
      expect(answer.status).toBe(200);
    } finally {
      await echo?.close();
    }
  });
});

describe('listener: bounded connections and a graceful stop', () => {
  it('OWASP Denial of Service Cheat Sheet: listen.maxConnections refuses the (max+1)th connection while max are open, and accepts again once one closes', async () => {
    const { gatehouse, port } = await httpsGateway({ maxConnections: 5, handshakeTimeout: '1h' });
    const held = await Promise.all(Array.from({ length: 5 }, () => silentConnection(port)));
    expect(await settle(() => serverConnections(gatehouse), (n) => n === 5)).toBe(5);
    const extra = await silentConnection(port);
    // The kernel accepted it; the server closes it at once, and it never reaches TLS or HTTP.
    expect(await closed(extra)).toBe('');
    expect(held.every((s) => !s.destroyed)).toBe(true);
    await expect(get(port)).rejects.toThrow();
    held[0]?.destroy();
    expect(await settle(() => serverConnections(gatehouse), (n) => n === 4)).toBe(4);
    const answer = await get(port);
    expect(answer.status).toBe(200);
  });

  it('Graceful stop (close()) finishes with silent TCP, unused TLS and idle keep-alive connections open, and still completes the request in flight', async () => {
    let echo: Echo | undefined;
    try {
      echo = await startEcho();
      // Every bound far beyond the test: only the shutdown itself may end these connections.
      const { gatehouse, port } = await httpsGateway(
        { handshakeTimeout: '1h', firstRequestTimeout: '1h', keepAliveTimeout: '1h', shutdownTimeout: '1h' },
        { apis: [{ path: '/api/slow', upstream: echo.origin, auth: 'none' }] },
      );
      const silent = await Promise.all(Array.from({ length: 10 }, () => silentConnection(port)));
      const unused = await Promise.all(Array.from({ length: 3 }, () => tlsConnection(port)));
      const keptAlive = await tlsConnection(port);
      const keptAliveAnswered = new Promise<void>((resolve) => keptAlive.on('data', (d: Buffer) => d.includes('{"ok":true}') && resolve()));
      keptAlive.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await keptAliveAnswered;
      const seenBefore = echo.seen.length;
      const inFlight = get(port, '/api/slow/slow/300');
      await settle(() => echo?.seen.length ?? 0, (n) => n > seenBefore);
      expect(echo.seen.length).toBe(seenBefore + 1);
      const everyClosed = Promise.all([...silent, ...unused, keptAlive].map((s) => closed(s)));

      await gatehouse.close();
      gateways.splice(gateways.indexOf(gatehouse), 1);

      expect((await inFlight).status).toBe(200);
      await everyClosed;
      expect(closeWaitSockets(port)).toBe(0);
    } finally {
      await echo?.close();
    }
  });
});
