// `gatehouse dev` as a user runs it: the built CLI in its own process, over real HTTPS, in front of
// a dev server stand-in (with its HMR WebSocket) and a real API upstream.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeDevServer, startDevServer } from '../dev/dev-server.js';
import { BIN, freePort, https, PASSWORD, run } from '../helpers/process.js';
import { type Echo, startEcho } from '../proxy/echo.js';

let dev: FakeDevServer;
let api: Echo;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dev = await startDevServer();
  api = await startEcho();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await dev.close();
  await api.close();
});

/** Starts `gatehouse dev`; resolves with everything it printed once it says how to stop it. */
async function startDev(args: string[]): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, [BIN, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gatehouse dev did not start: ${output}`)), 15_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Stop with Ctrl+C.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gatehouse dev exited with ${code}: ${output}`)));
  });
  return { child, output };
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('gatehouse dev', () => {
  it('prints what to open and how to trust the certificate, then serves the dev server (HMR too) and the API over HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-'));
    const port = await freePort();
    const origin = `https://localhost:${port}`;
    const { child, output } = await startDev(['--upstream-spa', dev.origin, '--api', `/api=${api.origin}`, '--port', String(port), '--data', dir]);
    const certFile = join(dir, 'tls', 'localhost.crt');
    const configFile = join(dir, 'gatehouse.dev.json');
    expect(output).toContain(`Gatehouse dev is running: open ${origin}/`);
    expect(output).toContain(`HTTPS certificate for localhost (self-signed, kept and reused): ${certFile}`);
    expect(output).toContain(`sudo cp ${certFile} /usr/local/share/ca-certificates/gatehouse-dev.crt && sudo update-ca-certificates`);
    expect(output).toContain(`sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${certFile}`);
    expect(output).toContain('Firefox');
    expect(output).toContain('No CORS configuration is needed: the SPA and the API share this origin.');
    expect(output).toContain(`npx gatehouse users add alice --config ${configFile}`);
    expect(output).not.toContain('production configuration');
    const cert = readFileSync(certFile, 'utf8');

    // The SPA from the dev server, over HTTPS with the generated certificate as trust anchor.
    const page = await https(port, cert, '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('dev server');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self' wss://localhost:");
    // No HSTS on localhost: it would pin every port of localhost to https in the browser.
    expect(page.headers['strict-transport-security']).toBeUndefined();

    // The API: sign-in required (auth "required" by default), and the upstream is not asked.
    const apiSeen = api.seen.length;
    expect((await https(port, cert, '/api/orders')).status).toBe(401);
    expect(api.seen.length).toBe(apiSeen);

    // The printed hint works: a user added with it signs in, and the API then answers without the cookie.
    const add = await run(['users', 'add', 'alice', '--password-stdin', '--config', configFile], `${PASSWORD}\n`);
    expect(add.code, add.stderr).toBe(0);
    const login = await https(port, cert, '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1', origin },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    expect(login.status, login.body).toBe(200);
    const cookie = String([login.headers['set-cookie']].flat()[0]).split(';', 1)[0] as string;
    expect(cookie).toMatch(/^__Host-gatehouse=/);
    const orders = await https(port, cert, '/api/orders?page=2', { headers: { cookie } });
    expect(orders.status).toBe(200);
    expect(JSON.parse(orders.body)).toMatchObject({ path: '/orders?page=2' });
    expect(JSON.parse(orders.body).headers.cookie).toBeUndefined();
    // Production's CSRF rule: an unsafe request without X-CSRF is refused before the API.
    const forged = await https(port, cert, '/api/orders', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(forged.status).toBe(403);

    // The HMR WebSocket over wss://, same origin.
    const socket = new WebSocket(`wss://localhost:${port}/?token=t0k`, ['vite-hmr'], { ca: cert, headers: { origin } });
    const first = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data) => resolve(String(data)));
      socket.once('error', reject);
    });
    expect(JSON.parse(first)).toEqual({ type: 'connected' });
    expect(socket.protocol).toBe('vite-hmr');
    socket.close();

    expect(await stop(child)).toBe(0);
  });

  it('--config: the file in development mode with only what the flags give laid over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dev-config-'));
    const port = await freePort();
    const file = join(dir, 'gatehouse.json');
    writeFileSync(
      file,
      JSON.stringify({
        publicOrigin: 'https://localhost:1',
        listen: { host: '127.0.0.1', port: 1, tls: 'self-signed' },
        spa: { root: './dist' },
        apis: [{ path: '/api/public', upstream: 'http://127.0.0.1:9', auth: 'none' }],
        session: { store: 'memory' },
        local: { enabled: false },
        logLevel: 'warn',
      }),
    );
    const { child, output } = await startDev(['--config', file, '--upstream-spa', dev.origin, '--api', `/api/public=${api.origin}`, '--port', String(port)]);
    expect(output).toContain(`open https://localhost:${port}/`);
    expect(output).toContain(`Local accounts are off in ${file}`);
    // The file had no mode (production by default): dev says loudly that it switched it.
    expect(output).toContain(`warning: ${file} is a production configuration; running it in development mode`);
    const cert = readFileSync(join(dir, 'data', 'tls', 'localhost.crt'), 'utf8');
    // The route kept the file's auth "none"; only its upstream moved to the flag's.
    const open = await https(port, cert, '/api/public/status');
    expect(open.status).toBe(200);
    expect(JSON.parse(open.body)).toMatchObject({ path: '/status' });
    expect((await https(port, cert, '/', { headers: { accept: 'text/html' } })).body).toContain('dev server');
    expect(await stop(child)).toBe(0);
  });

  it('a wrong flag exits 2 with a message naming it, and no stack trace', async () => {
    const cases: [string[], string][] = [
      [['--upstream-spa', dev.origin, '--api', 'nonsense'], '--api nonsense: write PATH=URL'],
      [['--upstream-spa', dev.origin, '--api', '/api=ftp://files.example'], '--api /api=ftp://files.example (apis[0].upstream)'],
      [['--upstream-spa', dev.origin, '--api', 'api=http://localhost:3000'], '--api api=http://localhost:3000 (apis[0].path)'],
      [['--api', '/api=http://localhost:3000'], '--upstream-spa URL is required'],
      [['--upstream-spa', 'http://192.168.1.20:5173'], '--upstream-spa http://192.168.1.20:5173 (spa.upstream)'],
      [['--upstream-spa', dev.origin, '--port', 'https'], '--port https: not a port number'],
      [['--upstream-spa', dev.origin, '--no-such-flag'], "Unknown option '--no-such-flag'"],
    ];
    for (const [args, message] of cases) {
      const res = await run(['dev', ...args, '--data', mkdtempSync(join(tmpdir(), 'gatehouse-dev-bad-'))]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(message);
      expect(res.stderr).toContain('usage: gatehouse dev --upstream-spa URL');
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});
