/**
 * Symbolic links inside served roots (the SPA root, which needs no session, and protected static
 * roots). A build output can carry a link (`dist/x -> /etc/passwd`, a symlinked `node_modules`,
 * a link a compromised build step planted); following it would serve any file the gateway can
 * read. Each test builds its roots in a temp directory with real links (fs.symlinkSync) and
 * attacks a listening gateway over a real socket: every escape is a 404 `not_found` whose body
 * and headers carry nothing of the target.
 *
 * Requirements: OWASP ASVS 5.0 V13.4 (no unintended files served), CWE-59 (link following),
 * CWE-367 (TOCTOU: the opened descriptor is what is checked).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { createKeyRing, generateKey } from '../../src/keys/keyring.js';
import { createGatehouse, type Gatehouse } from '../../src/server.js';
import { openedFileIsConfined, type SymlinkPolicy } from '../../src/static/confine.js';
import { PASSWORD, SAME_ORIGIN, testConfigInput } from '../helpers/gateway.js';

const OUTSIDE_SECRET = 'OUTSIDE-SECRET-7d3f1c';
const OUTSIDE_INDEX = 'OUTSIDE-INDEX-41b9e2';
const HIDDEN_SECRET = 'HIDDEN-DOTFILE-SECRET';
const INSIDE_TARGET = 'INSIDE-TARGET-ok';
/** The first line of the machine's /etc/passwd: it must never appear in an answer. */
const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n', 1)[0] as string;
const NEVER = [OUTSIDE_SECRET, OUTSIDE_INDEX, HIDDEN_SECRET, PASSWD_LINE];

/** A temp site: spa/ and files/ roots, and an outside/ directory that no root includes. */
function buildSite(): string {
  const site = mkdtempSync(join(tmpdir(), 'gh-symlinks-'));
  const spa = join(site, 'spa');
  const files = join(site, 'files');
  const outside = join(site, 'outside');
  for (const dir of [spa, join(spa, 'assets'), join(spa, 'real'), files, join(files, 'real'), outside, join(outside, 'dir')]) mkdirSync(dir);
  writeFileSync(join(spa, 'index.html'), '<!doctype html><body>SPA-INDEX</body>');
  writeFileSync(join(spa, 'app.css'), 'body{}\n');
  writeFileSync(join(spa, 'assets', 'app-3f2a9c1bd2.js'), 'APP-BUNDLE');
  writeFileSync(join(spa, 'real', 'inner.txt'), INSIDE_TARGET);
  writeFileSync(join(spa, '.env'), HIDDEN_SECRET);
  writeFileSync(join(files, 'report.txt'), 'PROTECTED-REPORT');
  writeFileSync(join(files, 'real', 'inner.txt'), INSIDE_TARGET);
  writeFileSync(join(outside, 'secret.txt'), OUTSIDE_SECRET);
  writeFileSync(join(outside, 'dir', 'nested.txt'), OUTSIDE_SECRET);
  writeFileSync(join(outside, 'index.html'), `<!doctype html><body>${OUTSIDE_INDEX}</body>`);

  for (const root of [spa, files]) {
    symlinkSync('../outside/secret.txt', join(root, 'leak.txt')); // a symlinked file (relative)
    symlinkSync(join(outside, 'secret.txt'), join(root, 'absolute.txt')); // absolute target
    symlinkSync('../outside/dir', join(root, 'linkdir')); // a symlinked directory
    symlinkSync('/etc', join(root, 'etc')); // a directory of the machine
    symlinkSync('/etc/passwd', join(root, 'passwd.txt'));
    // A chain whose first hops stay inside the root and whose last leaves it.
    symlinkSync('chain2.txt', join(root, 'chain1.txt'));
    symlinkSync('real/chain3.txt', join(root, 'chain2.txt'));
    symlinkSync('../../outside/secret.txt', join(root, 'real', 'chain3.txt'));
    // Links that stay inside the root.
    symlinkSync('real/inner.txt', join(root, 'inside.txt'));
    symlinkSync('real', join(root, 'insidedir'));
    // Inside, but to a hidden file: the dotfile rule must hold through a link too.
    writeFileSync(join(root, '.secret'), HIDDEN_SECRET);
    symlinkSync('.secret', join(root, 'hidden.txt'));
  }
  // Pre-compressed variants of a real file, linked out of the root.
  symlinkSync('../outside/secret.txt', join(spa, 'app.css.br'));
  symlinkSync('../outside/secret.txt', join(spa, 'app.css.gz'));
  return site;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh TCP connection to the listening gateway. */
function call(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

interface Running {
  gatehouse: Gatehouse;
  port: number;
  cookie: string;
}

async function start(site: string, policy: SymlinkPolicy | undefined, overrides: Partial<GatehouseConfigInput> = {}): Promise<Running> {
  const symlinks = policy ? { symlinks: policy } : {};
  const input = testConfigInput({
    spa: { root: './spa', ...symlinks },
    static: [{ path: '/files', root: './files', protected: true, ...symlinks }],
    ...overrides,
  });
  const config = resolveConfig(input, { baseDir: site, env: {} });
  const gatehouse = await createGatehouse(config, { keys: createKeyRing([generateKey()]), logger: false });
  await gatehouse.local?.accounts.add({ username: 'alice', password: PASSWORD, name: 'Alice', roles: ['user'] });
  await gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (gatehouse.app.server.address() as AddressInfo).port;
  const login = await call(port, '/auth/login', {
    method: 'POST',
    headers: { ...SAME_ORIGIN, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: PASSWORD }),
  });
  expect(login.status).toBe(200);
  const cookie = ([login.headers['set-cookie'] ?? []].flat()[0] as string).split(';', 1)[0] as string;
  return { gatehouse, port, cookie };
}

/** The 404 of a file that does not exist: a refused link must look exactly like it. */
async function missing(gw: Running, prefix: string): Promise<string> {
  const res = await call(gw.port, `${prefix}/no-such-file.txt`, { headers: { cookie: gw.cookie } });
  expect(res.status).toBe(404);
  return res.body;
}

/** GET, HEAD and a Range request: each a 404 not_found with nothing of the target. */
async function expectRefused(gw: Running, url: string, notFoundBody: string): Promise<void> {
  for (const [method, extra] of [
    ['GET', {}],
    ['HEAD', {}],
    ['GET', { range: 'bytes=0-4' }],
    ['GET', { 'accept-encoding': 'br, gzip' }],
  ] as const) {
    const res = await call(gw.port, url, { method, headers: { cookie: gw.cookie, accept: '*/*', ...extra } });
    const what = `${method} ${url} ${JSON.stringify(extra)}`;
    expect(res.status, what).toBe(404);
    if (method === 'GET') {
      expect(JSON.parse(res.body), what).toMatchObject({ error: 'not_found' });
      expect(res.body, what).toBe(notFoundBody);
    }
    for (const secret of NEVER) expect(res.body, what).not.toContain(secret);
    // No header describes the target (its size, range, validator, encoding).
    for (const header of ['content-range', 'etag', 'last-modified', 'accept-ranges', 'content-encoding']) {
      expect(res.headers[header], `${what} ${header}`).toBeUndefined();
    }
    expect(res.headers['cache-control'] ?? '', what).not.toContain('immutable');
  }
}

const ESCAPES = ['/leak.txt', '/absolute.txt', '/linkdir/nested.txt', '/etc/passwd', '/passwd.txt', '/chain1.txt', '/hidden.txt'];

let site: string;
const running: Running[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.gatehouse.close()));
  rmSync(site, { recursive: true, force: true });
});
beforeAll(() => {
  site = buildSite();
});

describe('default policy ("refuse": no link below a root is followed)', () => {
  let gw: Running;
  beforeAll(async () => {
    gw = await start(site, undefined);
    running.push(gw);
  });

  it('OWASP ASVS 5.0 V13.4 / CWE-59: the SPA root (no session needed) answers every link escape with 404, never the bytes', async () => {
    const notFound = await missing(gw, '');
    for (const url of ESCAPES) await expectRefused(gw, url, notFound);
    // Without a session too: the SPA root is public.
    const anonymous = await call(gw.port, '/passwd.txt');
    expect(anonymous.status).toBe(404);
    expect(anonymous.body).not.toContain(PASSWD_LINE);
    // The real files around them are still served.
    const css = await call(gw.port, '/app.css');
    expect(css.status).toBe(200);
    expect(css.body).toBe('body{}\n');
  });

  it('CWE-59: a protected root answers a signed-in user 404 for every link escape, and 401 without a session', async () => {
    const notFound = await missing(gw, '/files');
    for (const url of ESCAPES) await expectRefused(gw, `/files${url}`, notFound);
    const anonymous = await call(gw.port, '/files/leak.txt', { headers: { accept: '*/*' } });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ error: 'unauthenticated' });
    expect((await call(gw.port, '/files/report.txt', { headers: { cookie: gw.cookie } })).body).toBe('PROTECTED-REPORT');
  });

  it('"refuse" follows no link at all, not even one that stays inside the root (file or directory)', async () => {
    for (const prefix of ['', '/files']) {
      const notFound = await missing(gw, prefix);
      for (const url of ['/inside.txt', '/insidedir/inner.txt']) await expectRefused(gw, `${prefix}${url}`, notFound);
    }
  });

  it('pre-compressed variants (.br/.gz) linked out of the root are never served, asked for directly or by Accept-Encoding', async () => {
    const notFound = await missing(gw, '');
    await expectRefused(gw, '/app.css.br', notFound);
    await expectRefused(gw, '/app.css.gz', notFound);
    // @fastify/static runs with preCompressed off: Accept-Encoding never selects a sibling file.
    const css = await call(gw.port, '/app.css', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(css.status).toBe(200);
    expect(css.body).toBe('body{}\n');
    expect(css.headers['content-encoding']).toBeUndefined();
  });

  it('CWE-367: a link created, or a file replaced by a link, after start is refused on the next request (no stale cache)', async () => {
    const spa = join(site, 'spa');
    writeFileSync(join(spa, 'swap.txt'), 'SWAP-ORIGINAL');
    expect((await call(gw.port, '/swap.txt')).body).toBe('SWAP-ORIGINAL');
    // Replaced atomically by a link (rename over it), as a deploy or an attacker would.
    symlinkSync('../outside/secret.txt', join(spa, 'swap.tmp'));
    renameSync(join(spa, 'swap.tmp'), join(spa, 'swap.txt'));
    symlinkSync('/etc/passwd', join(spa, 'late.txt'));
    const notFound = await missing(gw, '');
    await expectRefused(gw, '/swap.txt', notFound);
    await expectRefused(gw, '/late.txt', notFound);
    // And back to a regular file: served again, nothing remembered either way.
    unlinkSync(join(spa, 'swap.txt'));
    writeFileSync(join(spa, 'swap.txt'), 'SWAP-AGAIN');
    expect((await call(gw.port, '/swap.txt')).body).toBe('SWAP-AGAIN');
  });

  it('OWASP ASVS 5.0 V13.4: dotfiles stay hidden, by name and through a link', async () => {
    for (const url of ['/.env', '/.secret', '/hidden.txt', '/files/.secret', '/files/hidden.txt']) {
      const res = await call(gw.port, url, { headers: { cookie: gw.cookie, accept: '*/*' } });
      expect(res.status, url).toBe(404);
      expect(res.body, url).not.toContain(HIDDEN_SECRET);
    }
  });
});

describe('a root that is itself a link', () => {
  it('"refuse" still serves a root reached through a link (current -> releases/42), and refuses links below it', async () => {
    const deploy = mkdtempSync(join(tmpdir(), 'gh-symlinks-release-'));
    try {
      for (const dir of ['releases', 'releases/42', 'files', 'outside']) mkdirSync(join(deploy, dir));
      writeFileSync(join(deploy, 'releases', '42', 'index.html'), '<!doctype html><body>RELEASE-42</body>');
      writeFileSync(join(deploy, 'outside', 'secret.txt'), OUTSIDE_SECRET);
      symlinkSync('../../outside/secret.txt', join(deploy, 'releases', '42', 'leak.txt'));
      symlinkSync('releases/42', join(deploy, 'current'));
      const gw = await start(deploy, undefined, { spa: { root: './current' } });
      running.push(gw);
      const index = await call(gw.port, '/', { headers: { accept: 'text/html' } });
      expect(index.status).toBe(200);
      expect(index.body).toContain('RELEASE-42');
      await expectRefused(gw, '/leak.txt', await missing(gw, ''));
    } finally {
      rmSync(deploy, { recursive: true, force: true });
    }
  });
});

describe('the SPA index fallback', () => {
  it('CWE-59: index.html itself a link out of the root is never served, for / or a client-side route', async () => {
    const other = mkdtempSync(join(tmpdir(), 'gh-symlinks-index-'));
    try {
      mkdirSync(join(other, 'spa'));
      mkdirSync(join(other, 'files'));
      writeFileSync(join(other, 'index.html'), `<!doctype html><body>${OUTSIDE_INDEX}</body>`);
      symlinkSync('../index.html', join(other, 'spa', 'index.html'));
      const gw = await start(other, undefined);
      running.push(gw);
      const nav = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' };
      for (const url of ['/', '/dashboard', '/users/42', '/index.html']) {
        for (const method of ['GET', 'HEAD']) {
          const res = await call(gw.port, url, { method, headers: nav });
          expect(res.status, `${method} ${url}`).toBe(404);
          if (method === 'GET') expect(JSON.parse(res.body), url).toMatchObject({ error: 'not_found' });
          expect(res.body, url).not.toContain(OUTSIDE_INDEX);
          expect(res.headers.etag, url).toBeUndefined();
        }
      }
      // "inside" does not help a link that leaves the root.
      const inside = await start(other, 'inside');
      running.push(inside);
      const res = await call(inside.port, '/dashboard', { headers: nav });
      expect(res.status).toBe(404);
      expect(res.body).not.toContain(OUTSIDE_INDEX);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('symlinks: "inside"', () => {
  let gw: Running;
  beforeAll(async () => {
    gw = await start(site, 'inside');
    running.push(gw);
  });

  it('CWE-59: a link inside the root serves (file and directory, GET, HEAD and Range); every link out of it is still 404', async () => {
    for (const prefix of ['', '/files']) {
      for (const url of ['/inside.txt', '/insidedir/inner.txt']) {
        const res = await call(gw.port, `${prefix}${url}`, { headers: { cookie: gw.cookie } });
        expect(res.status, url).toBe(200);
        expect(res.body, url).toBe(INSIDE_TARGET);
        const head = await call(gw.port, `${prefix}${url}`, { method: 'HEAD', headers: { cookie: gw.cookie } });
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(INSIDE_TARGET.length));
        const range = await call(gw.port, `${prefix}${url}`, { headers: { cookie: gw.cookie, range: 'bytes=0-5' } });
        expect(range.status).toBe(206);
        expect(range.body).toBe(INSIDE_TARGET.slice(0, 6));
      }
      const notFound = await missing(gw, prefix);
      // hidden.txt stays inside the root but names a dotfile: still refused.
      for (const url of ESCAPES) await expectRefused(gw, `${prefix}${url}`, notFound);
    }
  });

  it('CWE-367: a link created after start is judged at request time: inside serves, outside 404', async () => {
    const spa = join(site, 'spa');
    symlinkSync('real/inner.txt', join(spa, 'late-inside.txt'));
    symlinkSync('../outside/dir/nested.txt', join(spa, 'late-outside.txt'));
    expect((await call(gw.port, '/late-inside.txt')).body).toBe(INSIDE_TARGET);
    await expectRefused(gw, '/late-outside.txt', await missing(gw, ''));
  });
});

describe('the check on the opened descriptor', () => {
  it('CWE-367 (TOCTOU): a descriptor opened through a swapped-in link is refused, even when the name is swapped back', async () => {
    const root = join(site, 'spa');
    const name = join(root, 'race.txt');
    {
      writeFileSync(name, 'RACE-ORIGINAL');
      const honest = openSync(name, 'r');
      // The name was checked, then swapped for a link before the open...
      unlinkSync(name);
      symlinkSync('../outside/secret.txt', name);
      const raced = openSync(name, 'r');
      try {
        for (const policy of ['refuse', 'inside'] as const) {
          expect(await openedFileIsConfined(raced, name, root, policy)).toBe(false);
        }
        // ...and swapped back to a regular file before the second look: the descriptor still
        // names the outside file, and that is what is judged.
        unlinkSync(name);
        writeFileSync(name, 'RACE-BACK');
        for (const policy of ['refuse', 'inside'] as const) {
          expect(await openedFileIsConfined(raced, name, root, policy)).toBe(false);
          // A descriptor of an earlier inode at that name is refused too (not the file now named).
          expect(await openedFileIsConfined(honest, name, root, policy)).toBe(false);
        }
        const fresh = openSync(name, 'r');
        try {
          expect(await openedFileIsConfined(fresh, name, root, 'refuse')).toBe(true);
        } finally {
          closeSync(fresh);
        }
      } finally {
        closeSync(raced);
        closeSync(honest);
        unlinkSync(name);
      }
    }
  });
});
