// Upstream failures, streaming bodies and WebSockets, over real sockets.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { login, ORIGIN, SAME_ORIGIN } from '../helpers/gateway.js';
import { generatedBody } from './echo.js';
import { listen, type ProxyFixture, proxyFixture } from './setup.js';

let f: ProxyFixture;
let origin: string;
let cookie: string;

beforeAll(async () => {
  f = await proxyFixture();
  origin = await listen(f.gw);
  cookie = await login(f.gw, 'alice');
});
afterAll(() => f.close());

describe('upstream down or slow', () => {
  it('unreachable: 502 upstream_unavailable; slow: 504 upstream_timeout; other routes keep working', async () => {
    const down = await fetch(`${origin}/api/down/x`);
    expect(down.status).toBe(502);
    expect(await down.json()).toMatchObject({ error: 'upstream_unavailable' });
    const started = Date.now();
    const [slow, fine] = await Promise.all([fetch(`${origin}/api/slow/slow/2000`), fetch(`${origin}/api/open/x`)]);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: 'upstream_timeout' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(fine.status).toBe(200);
    expect((await fine.json()).path).toBe('/base/x');
    // Within its timeout the same route answers.
    const quick = await fetch(`${origin}/api/slow/slow/10`);
    expect(quick.status).toBe(200);
  });
});

describe('streaming', () => {
  const SIZE = 200 * 1024 * 1024;
  /** Peak RSS growth while `run` runs, sampled every 20 ms. */
  async function peakGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
    global.gc?.();
    const base = process.memoryUsage.rss();
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 20);
    try {
      const result = await run();
      peak = Math.max(peak, process.memoryUsage.rss());
      return { result, growth: peak - base };
    } finally {
      clearInterval(timer);
    }
  }

  it('a 200 MB upload streams through with bounded memory', async () => {
    const url = new URL(`${origin}/api/plain/upload`);
    const { result, growth } = await peakGrowth(
      () =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          // Expect: 100-continue, as curl sends for large bodies: answered by the gateway, not forwarded.
          const headers = { ...SAME_ORIGIN, cookie, 'content-type': 'application/octet-stream', 'content-length': SIZE, expect: '100-continue' };
          const req = request(url, { method: 'POST', headers }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.on('continue', () => generatedBody(SIZE).pipe(req));
        }),
    );
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ bytes: SIZE });
    // Client, gateway and upstream share this process: all three together stay far below the body size.
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);

  it('a 200 MB download streams through with bounded memory', async () => {
    const { result, growth } = await peakGrowth(async () => {
      const res = await fetch(`${origin}/api/plain/download/${SIZE}`, { headers: { cookie } });
      let bytes = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
      return { status: res.status, bytes, length: res.headers.get('content-length') };
    });
    expect(result).toEqual({ status: 200, bytes: SIZE, length: String(SIZE) });
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);
});

describe('WebSocket', () => {
  const wsUrl = () => `${origin.replace('http', 'ws')}/api/ws/chat?room=1`;
  /** Opens a socket; resolves with the first message, or rejects with the HTTP status of a refusal. */
  const open = (headers: Record<string, string>, protocols: string[] = []) =>
    new Promise<{ socket: WebSocket; first: Record<string, unknown> }>((resolve, reject) => {
      const socket = new WebSocket(wsUrl(), protocols, { headers });
      socket.once('message', (data) => resolve({ socket, first: JSON.parse(String(data)) }));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c;
        });
        res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });

  it('same-origin upgrade with a session is proxied both ways, with the internal token and no cookie', async () => {
    const { socket, first } = await open({ origin: ORIGIN, cookie: `${cookie}; other=1` }, ['chat.v1']);
    expect(first.path).toBe('/sockets/chat?room=1');
    expect(first.protocol).toBe('chat.v1');
    expect(socket.protocol).toBe('chat.v1');
    const headers = first.headers as Record<string, string>;
    expect(headers.cookie).toBeUndefined();
    expect(headers.authorization).toMatch(/^Bearer ey/);
    expect(headers['x-gatehouse-user']).toBeTruthy();
    const echoed = new Promise<string>((resolve) => socket.once('message', (d) => resolve(String(d))));
    socket.send('ping over the gateway');
    expect(await echoed).toBe('ping over the gateway');
    const binary = new Promise<Buffer>((resolve) => socket.once('message', (d) => resolve(d as Buffer)));
    socket.send(Buffer.from([1, 2, 3]));
    expect([...(await binary)]).toEqual([1, 2, 3]);
    socket.close();
  });

  it('no session: 401, and the upstream never sees the upgrade', async () => {
    const before = f.echo.seen.filter((s) => s.method === 'WEBSOCKET').length;
    await expect(open({ origin: ORIGIN })).rejects.toMatchObject({ status: 401 });
    await expect(open({ origin: ORIGIN, cookie: '__Host-gatehouse=forged' })).rejects.toMatchObject({ status: 401 });
    expect(f.echo.seen.filter((s) => s.method === 'WEBSOCKET').length).toBe(before);
  });

  it('cross-site Origin (or none) is refused even with the cookie: no WebSocket hijacking', async () => {
    const before = f.echo.seen.filter((s) => s.method === 'WEBSOCKET').length;
    await expect(open({ origin: 'https://evil.example', cookie })).rejects.toMatchObject({ status: 403 });
    await expect(open({ origin: 'null', cookie })).rejects.toMatchObject({ status: 403 });
    await expect(open({ cookie })).rejects.toMatchObject({ status: 403 });
    await expect(open({ origin: ORIGIN, 'sec-fetch-site': 'cross-site', cookie })).rejects.toMatchObject({ status: 403 });
    expect(f.echo.seen.filter((s) => s.method === 'WEBSOCKET').length).toBe(before);
  });

  it('upgrades on routes without websocket: true, and path tricks, are refused', async () => {
    const other = new WebSocket(`${origin.replace('http', 'ws')}/api/plain/x`, { headers: { origin: ORIGIN, cookie } });
    const status = await new Promise<number>((resolve) => {
      other.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      other.once('open', () => resolve(101));
      other.once('error', () => resolve(-1));
    });
    expect(status).toBe(404);
    for (const [path, expected] of [
      ['/api/ws/%2e%2e%2fx', 400],
      ['/api/ws/..%2fx', 400],
      ['/api/ws//evil.example', 400],
      ['/api/wsx', 404],
    ] as const) {
      const trick = new WebSocket(`${origin.replace('http', 'ws')}${path}`, { headers: { origin: ORIGIN, cookie } });
      const answer = await new Promise<number>((resolve) => {
        trick.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        trick.once('open', () => resolve(101));
        trick.once('error', () => resolve(-1));
      });
      expect(answer, path).toBe(expected);
    }
    expect(f.echo.seen.filter((s) => s.method === 'WEBSOCKET' && !s.path.startsWith('/sockets/chat'))).toEqual([]);
  });
});
