import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE } from '../helpers/gateway.js';
import { BIN, freePort, https, PASSWORD, run, waitForLine } from '../helpers/process.js';

describe('gatehouse start / config check / users (real processes)', () => {
  let dir: string;
  let configFile: string;
  let port: number;
  const children: ChildProcess[] = [];

  const start = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [BIN, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    await waitForLine(child, /Server listening at https:\/\/127\.0\.0\.1/);
    return child;
  };
  const stop = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
    port = await freePort();
    configFile = join(dir, 'gatehouse.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        publicOrigin: `https://localhost:${port}`,
        listen: { host: '127.0.0.1', port, tls: 'self-signed' },
        spa: { root: join(SITE, 'spa') },
        static: [{ path: '/files', root: join(SITE, 'files'), protected: true }],
        session: { store: 'sqlite:./data/gatehouse.db', idleTimeout: '30m', absoluteTimeout: '12h' },
        local: { enabled: true },
      }),
    );
  });

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('config check: OK for a good config, every problem at once for a bad one', async () => {
    const ok = await run(['config', 'check', '--config', configFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ publicOrigin: 'http://app.example.com', session: { cookie: { sameSite: 'none', domain: 'example.com' }, idelTimeout: '5m' }, cors: { allowOrigins: '*' } }));
    const res = await run(['config', 'check', '--config', bad]);
    expect(res.code).toBe(1);
    for (const key of ['publicOrigin', 'session.cookie.sameSite', 'session.cookie.domain', 'session.idelTimeout', 'cors.allowOrigins']) {
      expect(res.stderr).toContain(key);
    }
    // start refuses the same config without starting.
    const started = await run(['start', '--config', bad]);
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain('session.cookie.sameSite');
  });

  it('users add --password-stdin, then a login over real HTTPS; sessions and the certificate survive a restart', async () => {
    const add = await run(['users', 'add', 'alice', '--password-stdin', '--config', configFile], `${PASSWORD}\n`);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout + add.stderr).not.toContain(PASSWORD);

    const first = await start();
    const certFile = join(dir, 'data', 'tls', 'localhost.crt');
    const cert = readFileSync(certFile, 'utf8');
    expect(new X509Certificate(cert).subjectAltName).toContain('DNS:localhost');
    const origin = `https://localhost:${port}`;
    const login = await https(port, cert, '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1', origin },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    expect(login.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const cookie = String(login.headers['set-cookie']).split(';', 1)[0] as string;
    expect((await https(port, cert, '/files/report.txt', { headers: { cookie } })).body).toContain('PROTECTED-REPORT');

    // Oversized headers get a clear 431, and the process keeps serving.
    const huge = await https(port, cert, '/', { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.body).error).toBe('headers_too_large');
    expect((await https(port, cert, '/healthz')).status).toBe(200);

    expect(await stop(first)).toBe(0);
    await start();
    expect(readFileSync(certFile, 'utf8')).toBe(cert);
    const after = await https(port, cert, '/auth/session', { headers: { cookie } });
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body).user.username).toBe('alice');

    // passwd ends the user's sessions, even those of a running gateway (shared SQLite store).
    const passwd = await run(['users', 'passwd', 'alice', '--password-stdin', '--config', configFile], 'another long passphrase\n');
    expect(passwd.code, passwd.stderr).toBe(0);
    expect((await https(port, cert, '/auth/session', { headers: { cookie } })).status).toBe(401);
  });
});
