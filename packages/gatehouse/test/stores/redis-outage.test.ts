/**
 * A gateway whose Redis stops answering, goes away, or is not there at start-up. Each test runs
 * its own redis-server (never the machine's shared one) and ends it by its PID.
 *
 * The promise under test: while Redis is out, protected requests fail closed with 503
 * `store_unavailable` (never 401, never anonymous, never 500) and `/readyz` says not ready; when
 * Redis is back, the same cookie works again, without restarting the gateway. Nothing here sleeps
 * for a fixed time: recovery is polled with a deadline.
 */
import { connect, createServer, type Socket } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { login, SAME_ORIGIN, testGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort, startRedisServer, until, type RedisProcess } from '../helpers/redis-server.js';
import { describeWithRedis, runId } from '../helpers/services.js';

let n = 0;

/** The gateway on a Redis session store, with short timeouts so an outage shows quickly. */
function gatewayOn(url: string): Promise<TestGateway> {
  return testGateway({
    session: { store: url, idleTimeout: '30m', absoluteTimeout: '12h' },
    redis: { keyPrefix: `gh-test:${runId}:outage:${++n}:`, connectTimeout: '500ms', commandTimeout: '500ms' },
  });
}

const get = (gw: TestGateway, url: string, cookie?: string) =>
  gw.inject({ method: 'GET', url, headers: { ...SAME_ORIGIN, ...(cookie ? { cookie } : {}) } });

function expectStoreUnavailable(res: LightMyRequestResponse): void {
  expect(res.statusCode).toBe(503);
  expect(res.json()).toMatchObject({ error: 'store_unavailable' });
}

/** Signed in as alice, and able to read a protected file. */
async function expectServed(gw: TestGateway, cookie: string): Promise<void> {
  const session = await get(gw, '/auth/session', cookie);
  expect(session.statusCode).toBe(200);
  expect(session.json().user.username).toBe('alice');
  const file = await get(gw, '/files/report.txt', cookie);
  expect(file.statusCode).toBe(200);
  expect((await get(gw, '/readyz')).statusCode).toBe(200);
}

/** Every way the gateway is asked about the session, while the store is out. */
async function expectFailsClosed(gw: TestGateway, cookie: string): Promise<void> {
  expectStoreUnavailable(await get(gw, '/auth/session', cookie));
  expectStoreUnavailable(await get(gw, '/files/report.txt', cookie));
  expectStoreUnavailable(await get(gw, '/readyz'));
}

/** Polls until the same cookie is served again. */
async function expectRecovers(gw: TestGateway, cookie: string): Promise<void> {
  await until(async () => (await get(gw, '/auth/session', cookie)).statusCode === 200, 15_000, 'the gateway to serve the session again');
  await expectServed(gw, cookie);
}

/**
 * A TCP relay to Redis that can go silent on the connections it already carries, while new ones
 * work: what a failover that moved the server's address, or a dead host, looks like to a client
 * (no FIN, no RST, just no answers).
 */
async function silenceableRelay(targetPort: number): Promise<{ url: string; silence(): void; close(): Promise<void> }> {
  const live = new Set<Socket>();
  const silenced = new WeakSet<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    live.add(client);
    client.on('data', (chunk) => silenced.has(client) || upstream.write(chunk));
    upstream.on('data', (chunk) => silenced.has(client) || client.write(chunk));
    const end = () => {
      live.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    silence: () => {
      for (const socket of live) silenced.add(socket);
    },
    close: async () => {
      for (const socket of live) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describeWithRedis('redis outage', () => {
  let redis: RedisProcess | undefined;
  let gw: TestGateway | undefined;

  afterEach(async () => {
    await gw?.close();
    await redis?.stop();
    gw = redis = undefined;
  });

  it('Redis frozen (SIGSTOP): 503 store_unavailable within the command timeout; served again after SIGCONT', async () => {
    redis = await startRedisServer();
    gw = await gatewayOn(redis.url);
    const cookie = await login(gw);
    await expectServed(gw, cookie);

    redis.pause();
    const started = Date.now();
    await expectFailsClosed(gw, cookie);
    // Bounded by the command timeout (500 ms each), never hanging on a silent server.
    expect(Date.now() - started).toBeLessThan(5_000);
    // Sign-in fails closed as well (the throttle and the new session live in Redis).
    const attempt = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'wrong' } });
    expectStoreUnavailable(attempt);

    redis.resume();
    await expectRecovers(gw, cookie);
  });

  it('Redis restarted with its data (SHUTDOWN SAVE, then started again): 503 while down; the same cookie works after', async () => {
    redis = await startRedisServer();
    gw = await gatewayOn(redis.url);
    const cookie = await login(gw);
    await expectServed(gw, cookie);

    await redis.shutdownSaving();
    // Disconnected: no offline queue, so the refusal is immediate, not a wait for the 500 ms timeout.
    const started = Date.now();
    expectStoreUnavailable(await get(gw, '/auth/session', cookie));
    expect(Date.now() - started).toBeLessThan(400);
    await expectFailsClosed(gw, cookie);

    await redis.start();
    await expectRecovers(gw, cookie);
  });

  it('a connection gone silent (half-open) is detected and replaced: served again with no action on Redis', async () => {
    redis = await startRedisServer();
    const relay = await silenceableRelay(redis.port);
    try {
      gw = await gatewayOn(relay.url);
      const cookie = await login(gw);
      await expectServed(gw, cookie);

      relay.silence();
      expectStoreUnavailable(await get(gw, '/auth/session', cookie));
      // TCP alone would take many minutes to notice. The gateway probes the silent connection
      // after a timeout, gives up on it and connects anew (through the relay, which now works).
      await expectRecovers(gw, cookie);
    } finally {
      await gw?.close();
      gw = undefined;
      await relay.close();
    }
  });

  it('Redis down at start-up: the gateway starts, answers 503 and not-ready, and serves once Redis is up', async () => {
    const port = await freePort();
    gw = await gatewayOn(`redis://127.0.0.1:${port}`);
    expectStoreUnavailable(await get(gw, '/readyz'));
    expectStoreUnavailable(await get(gw, '/auth/session', '__Host-gatehouse=' + 'A'.repeat(43)));
    const refused = await gw.inject({ method: 'POST', url: '/auth/login', headers: SAME_ORIGIN, payload: { username: 'alice', password: 'x' } });
    expectStoreUnavailable(refused);

    redis = await startRedisServer([], port);
    await until(async () => (await get(gw as TestGateway, '/readyz')).statusCode === 200, 15_000, '/readyz to turn ready');
    const cookie = await login(gw);
    await expectServed(gw, cookie);
  });
});
