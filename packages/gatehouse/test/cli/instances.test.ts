/**
 * Scale-out with real processes: two `gatehouse start` processes on different ports share one
 * Redis (sessions, throttle, locks) and one PostgreSQL (accounts) and one key ring (dataDir), as
 * N instances behind a load balancer do. No sticky sessions: any instance serves any cookie.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SITE } from '../helpers/gateway.js';
import { BIN, freePort, https, PASSWORD, run, waitForLine } from '../helpers/process.js';
import { describeWithPostgres, describeWithRedis, POSTGRES_URL, REDIS_URL, runId } from '../helpers/services.js';

const PREFIX = `gh-test:${runId}:instances:`;
const SCHEMA = `gh_${runId}_instances`;

describeWithRedis('two gateway processes, one Redis', () => {
  describeWithPostgres('(accounts in PostgreSQL)', () => {
    let dir: string;
    let ca: string;
    let origin: string;
    const ports: number[] = [];
    const children: ChildProcess[] = [];

    const headers = (cookie?: string): Record<string, string> => ({
      'x-csrf': '1',
      origin,
      'sec-fetch-site': 'same-origin',
      ...(cookie ? { cookie } : {}),
    });
    const login = async (port: number, password = PASSWORD) => {
      const res = await https(port, ca, '/auth/login', {
        method: 'POST',
        headers: { ...headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password }),
      });
      const set = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-gatehouse='));
      return { status: res.status, body: res.body, cookie: set?.split(';', 1)[0] };
    };
    const session = (port: number, cookie: string) => https(port, ca, '/auth/session', { headers: headers(cookie) });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-instances-'));
      ports.push(await freePort(), await freePort());
      // Behind a load balancer both instances answer for one public origin.
      origin = `https://localhost:${ports[0]}`;
      const config = (port: number) => ({
        publicOrigin: origin,
        listen: { host: '127.0.0.1', port, tls: 'self-signed' },
        dataDir: './data',
        spa: { root: join(SITE, 'spa') },
        session: { store: REDIS_URL },
        redis: { keyPrefix: PREFIX },
        local: { enabled: true, store: POSTGRES_URL, throttle: { accountFailures: 4, addressFailures: 100 } },
        postgres: { schema: SCHEMA },
      });
      for (const [i, port] of ports.entries()) writeFileSync(join(dir, `instance-${i}.json`), JSON.stringify(config(port)));
      const migrate = await run(['migrate', '--config', join(dir, 'instance-0.json')]);
      expect(migrate.code, migrate.stderr).toBe(0);
      const add = await run(['users', 'add', 'alice', '--password-stdin', '--config', join(dir, 'instance-0.json')], `${PASSWORD}\n`);
      expect(add.code, add.stderr).toBe(0);
      // One after the other: the first creates the key ring and the certificate in the shared dataDir.
      for (const i of [0, 1]) {
        const child = spawn(process.execPath, [BIN, 'start', '--config', join(dir, `instance-${i}.json`)], { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        await waitForLine(child, /Server listening at https:\/\/127\.0\.0\.1/);
      }
      ca = readFileSync(join(dir, 'data', 'tls', 'localhost.crt'), 'utf8');
    }, 60_000);

    afterAll(async () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      const redis = createClient({ url: REDIS_URL });
      await redis.connect();
      for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
      await redis.close();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
      await client.end();
    });

    it('a session made on A works on B; logging out on B ends it on A', async () => {
      const [a, b] = ports as [number, number];
      const { status, cookie } = await login(a);
      expect(status).toBe(200);
      expect(cookie).toBeDefined();
      const onB = await session(b, cookie as string);
      expect(onB.status).toBe(200);
      expect(JSON.parse(onB.body).user.username).toBe('alice');

      const out = await https(b, ca, '/auth/logout', { method: 'POST', headers: headers(cookie) });
      expect(out.status).toBe(200);
      const onA = await session(a, cookie as string);
      expect(onA.status).toBe(401);
      expect(JSON.parse(onA.body).error).toBe('unauthenticated');
    });

    it('"revoke other sessions" on A ends the session a client uses through B', async () => {
      const [a, b] = ports as [number, number];
      const mine = (await login(a)).cookie as string;
      const other = (await login(b)).cookie as string;
      expect((await session(b, other)).status).toBe(200);
      const list = JSON.parse((await https(a, ca, '/auth/sessions', { headers: headers(mine) })).body);
      expect(list.sessions.length).toBeGreaterThanOrEqual(2);

      const revoke = await https(a, ca, '/auth/sessions', { method: 'DELETE', headers: headers(mine) });
      expect(revoke.status).toBe(200);
      expect((await session(b, other)).status).toBe(401);
      expect((await session(a, other)).status).toBe(401);
      // The revoking session itself lives on, on both instances.
      expect((await session(b, mine)).status).toBe(200);
    });

    it('the login throttle counts failures from both instances together', async () => {
      const [a, b] = ports as [number, number];
      // accountFailures is 4: two wrong passwords on each instance lock the account everywhere.
      for (const port of [a, b, a, b]) expect((await login(port, 'wrong password, not this one')).status).toBe(401);
      const locked = await login(b);
      expect(locked.status).toBe(429);
      expect(JSON.parse(locked.body).error).toBe('login_throttled');
      expect(locked.cookie).toBeUndefined();
      expect((await login(a)).status).toBe(429);
    });
  });
});
