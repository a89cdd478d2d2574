// A real HTTP server standing in for a dev server (Vite): it records what it receives, answers
// HTML with headers a gateway must not pass on (its own CSP, Set-Cookie, CORS), and runs an HMR
// WebSocket server that greets like Vite ({"type":"connected"}) and echoes.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface DevServerSeen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface FakeDevServer {
  origin: string;
  /** Every HTTP request and WebSocket connection (method "WEBSOCKET"), in order. */
  seen: DevServerSeen[];
  /** The open HMR sockets, to push messages from the "dev server" side. */
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

export async function startDevServer(): Promise<FakeDevServer> {
  const seen: DevServerSeen[] = [];
  const sockets = new Set<WebSocket>();
  const server = createServer((request, response) => {
    seen.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers });
    const path = request.url ?? '/';
    const js = path.split('?')[0]?.endsWith('.ts');
    const body = js ? `console.log(${JSON.stringify(path)});\n` : `<!doctype html><title>dev server</title><p>${path}</p>`;
    response.writeHead(200, {
      'content-type': js ? 'text/javascript' : 'text/html',
      'content-length': Buffer.byteLength(body),
      // What the gateway must drop or override: its own security headers, cookies and CORS.
      'content-security-policy': 'default-src *',
      'x-frame-options': 'ALLOWALL',
      'set-cookie': 'dev-session=leak; Path=/',
      'access-control-allow-origin': '*',
      'x-dev-server': 'yes',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  // Vite answers only its own subprotocols; so does this one.
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('vite-hmr') ? 'vite-hmr' : false),
  });
  wss.on('connection', (socket, request) => {
    seen.push({ method: 'WEBSOCKET', path: request.url ?? '', headers: request.headers });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.send(JSON.stringify({ type: 'connected' }));
    socket.on('message', (data) => socket.send(JSON.stringify({ type: 'echo', data: String(data) })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
