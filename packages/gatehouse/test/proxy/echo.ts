// A real echo upstream: answers every request with what it received, as JSON. A few paths
// change behaviour (slow answers, big streamed bodies, Set-Cookie). WebSocket upgrades echo too.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { WebSocketServer } from 'ws';

export interface Seen {
  method: string;
  /** The raw request target the upstream received. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Names and values exactly as they came on the wire (duplicates and case kept). */
  rawHeaders: string[];
  body: string;
}

export interface Echo {
  origin: string;
  /** Every request received, in order (bodies of /upload are counted, not kept). */
  seen: Seen[];
  close(): Promise<void>;
}

/** A body of `size` bytes made of one reused chunk: nothing of that size is ever allocated. */
export function generatedBody(size: number, chunkSize = 64 * 1024): Readable {
  const chunk = Buffer.alloc(chunkSize, 0x61);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunkSize);
      left -= n;
      this.push(n === chunkSize ? chunk : chunk.subarray(0, n));
    },
  });
}

async function countBytes(request: IncomingMessage): Promise<number> {
  let bytes = 0;
  for await (const chunk of request) bytes += (chunk as Buffer).length;
  return bytes;
}

export async function startEcho(): Promise<Echo> {
  const seen: Seen[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = request.url ?? '';
    const record: Seen = { method: request.method ?? '', path, headers: request.headers, rawHeaders: request.rawHeaders, body: '' };
    seen.push(record);
    const json = (status: number, value: unknown, headers: Record<string, string | string[]> = {}) => {
      const text = JSON.stringify(value);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      response.end(text);
    };
    if (path.includes('/upload')) {
      const bytes = await countBytes(request);
      record.body = `<${bytes} bytes>`;
      return json(200, { bytes });
    }
    const download = /\/download\/(\d+)/.exec(path);
    if (download) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download[1] });
      generatedBody(Number(download[1])).pipe(response);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    record.body = Buffer.concat(chunks).toString('utf8');
    const slow = /\/slow\/(\d+)/.exec(path);
    if (slow) await new Promise((r) => setTimeout(r, Number(slow[1])));
    const extra: Record<string, string | string[]> = {};
    if (path.includes('/set-cookie')) {
      extra['set-cookie'] = ['theme=dark; Path=/', '__Host-gatehouse=planted; Path=/; Secure', '__Host-gatehouse-login=x; Path=/'];
    }
    if (path.includes('/hop')) {
      extra.connection = 'x-upstream-private';
      extra['x-upstream-private'] = 'secret';
      extra['keep-alive'] = 'timeout=5';
      extra['content-security-policy'] = "default-src *";
    }
    json(200, record, extra);
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (socket, request) => {
    seen.push({ method: 'WEBSOCKET', path: request.url ?? '', headers: request.headers, rawHeaders: request.rawHeaders, body: '' });
    socket.send(JSON.stringify({ hello: true, path: request.url, headers: request.headers, protocol: socket.protocol }));
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening (for "upstream down"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
