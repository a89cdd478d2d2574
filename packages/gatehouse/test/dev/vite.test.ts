// The real thing: Vite's dev server behind the gateway over HTTPS. The page, Vite's client and a
// module come through the gateway, and the HMR WebSocket connects through it both ways (an edit
// of a self-accepting module arrives as an HMR update).
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startGatehouse } from '../../src/start.js';
import { resolveConfig } from '../../src/config/load.js';
import type { Gatehouse } from '../../src/server.js';
import { freePort, https } from '../helpers/process.js';

let vite: ViteDevServer;
let gatehouse: Gatehouse;
let root: string;
let port: number;
let cert: string;
let origin: string;

const MAIN = (n: number) => `document.querySelector('#app').textContent = 'version ${n}';\nimport.meta.hot?.accept();\n`;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-vite-'));
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>vite app</title><div id="app"></div><script type="module" src="/src/main.ts"></script>\n');
  writeFileSync(join(root, 'src', 'main.ts'), MAIN(1));
  const vitePort = await freePort();
  vite = await createServer({
    root,
    configFile: false,
    logLevel: 'silent',
    clearScreen: false,
    server: { host: '127.0.0.1', port: vitePort, strictPort: true },
  });
  await vite.listen();
  port = await freePort();
  origin = `https://localhost:${port}`;
  const config = resolveConfig(
    {
      mode: 'development',
      publicOrigin: origin,
      dataDir: join(root, '.gatehouse'),
      listen: { host: '127.0.0.1', port, tls: 'self-signed' },
      spa: { upstream: `http://127.0.0.1:${vitePort}` },
      session: { store: 'memory' },
      logLevel: 'silent',
    },
    { baseDir: root, env: {} },
  );
  gatehouse = await startGatehouse(config);
  cert = readFileSync(join(root, '.gatehouse', 'tls', 'localhost.crt'), 'utf8');
}, 60_000);

afterAll(async () => {
  await gatehouse?.close();
  await vite?.close();
});

describe('Vite behind gatehouse dev', () => {
  let token: string;

  it('serves the page, Vite\'s client and the modules through the gateway', async () => {
    const page = await https(port, cert, '/', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>vite app</title>');
    expect(page.body).toContain('<script type="module" src="/@vite/client"></script>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-inline'");

    const client = await https(port, cert, '/@vite/client');
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/javascript/);
    // The client connects back to the origin it was loaded from (the gateway), with this token.
    const match = /const wsToken = "([^"]+)"/.exec(client.body);
    expect(match).not.toBeNull();
    token = match?.[1] as string;

    const main = await https(port, cert, '/src/main.ts');
    expect(main.status).toBe(200);
    expect(main.body).toContain('version 1');
  });

  it('the HMR WebSocket connects through the gateway and carries Vite\'s updates', async () => {
    const socket = new WebSocket(`wss://localhost:${port}/?token=${token}`, 'vite-hmr', { ca: cert, headers: { origin } });
    const messages: Record<string, unknown>[] = [];
    const waitFor = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${type}" message; got ${JSON.stringify(messages)}`)), 20_000);
        const check = () => {
          const found = messages.find((m) => m.type === type);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
        };
        socket.on('message', (data) => {
          messages.push(JSON.parse(String(data)));
          check();
        });
        socket.once('error', reject);
        check();
      });
    expect(await waitFor('connected')).toEqual({ type: 'connected' });
    expect(socket.protocol).toBe('vite-hmr');

    writeFileSync(join(root, 'src', 'main.ts'), MAIN(2));
    const update = await waitFor('update');
    expect(JSON.stringify(update)).toContain('/src/main.ts');
    socket.close();
  }, 30_000);

  it('Vite\'s own token check still applies behind the gateway', async () => {
    const refused = new WebSocket(`wss://localhost:${port}/?token=wrong`, 'vite-hmr', { ca: cert, headers: { origin } });
    const status = await new Promise<number>((resolve) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => resolve(101));
      refused.once('error', () => resolve(-1));
    });
    expect(status).toBe(502);
  });
});
