// Starts `gatehouse demo` as a real child process on a free loopback port, the way a user would.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'packages/gatehouse/bin/gatehouse.js');
const DIST_ENTRY = join(REPO_ROOT, 'packages/gatehouse/dist/cli/main.js');
/** The example SPA, built by `npm run build` into the folder `gatehouse demo` serves. */
const SPA_INDEX = join(REPO_ROOT, 'packages/gatehouse/demo/spa/index.html');

/** A port nobody listens on right now: listen on port 0, note the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface DemoGateway {
  origin: string;
  port: number;
  dataDir: string;
  username: string;
  password: string;
  /** Everything the process wrote so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** GET with the self-signed certificate accepted; resolves with the status code. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface DemoOptions {
  /** How long to wait for the demo to answer. Default 30 s. */
  timeoutMs?: number;
  /** `--idle-timeout` (e.g. "4s"): short sessions for the expiry scenarios. */
  idleTimeout?: string;
  /** `--absolute-timeout` (e.g. "8s"). */
  absoluteTimeout?: string;
  /** `--session-mode`: "server" (the default) or "cookie" (the cookie is the sealed session). */
  sessionMode?: 'server' | 'cookie';
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoGateway> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} is missing: run "npm run build" in the repository root first`);
  if (!existsSync(SPA_INDEX)) throw new Error(`${SPA_INDEX} is missing: run "npm run build" in the repository root first (it builds examples/spa)`);
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'));
  const args = [BIN, 'demo', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir];
  if (options.idleTimeout) args.push('--idle-timeout', options.idleTimeout);
  if (options.absoluteTimeout) args.push('--absolute-timeout', options.absoluteTimeout);
  if (options.sessionMode) args.push('--session-mode', options.sessionMode);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited(child);
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + timeoutMs;
    let username: string | undefined;
    let password: string | undefined;
    // The credentials are printed once the server listens; still, probe it before using it.
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`gatehouse demo exited early (${child.exitCode ?? child.signalCode}):\n${log}`);
      }
      username ??= /^ {2}username: (\S+)$/m.exec(log)?.[1];
      password ??= /^ {2}password: (\S+)$/m.exec(log)?.[1];
      if (username && password) {
        const status = await probe(`https://127.0.0.1:${port}/healthz`).catch(() => 0);
        if (status === 200) {
          return { origin: `https://localhost:${port}`, port, dataDir, username, password, output: () => log, stop };
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gatehouse demo did not start within ${timeoutMs} ms:\n${log}`);
  } catch (error) {
    await stop();
    throw error;
  }
}
