/**
 * Cookie mode (`session.mode: "cookie"`) attacked from outside, over real sockets: a gateway
 * listening on a loopback port, every request written by hand on a raw TCP connection (so the
 * attacker controls every byte of the Cookie header: duplicates, order, several Cookie lines,
 * sizes past Node's limit). The attacker holds copies of cookies (a stolen one, their own) but not
 * the key ring; the few cases sealed with the gateway's own keys say so, and stand for a bug that
 * would let a value the gateway never writes through.
 *
 * Every refusal is exact (401 `unauthenticated`, the session cookie and the parts sent expired,
 * nothing issued; 403 `csrf_rejected`), no answer is a 500, and no session is created or extended.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey, type SecretKey } from '../../src/keys/keyring.js';
import { seal } from '../../src/keys/seal.js';
import { subkey } from '../../src/keys/subkey.js';
import type { CookiePayload } from '../../src/session/cookie-payload.js';
import { generateSessionToken } from '../../src/session/token.js';
import { ORIGIN, PASSWORD, testClock, type TestClock, type TestGateway } from '../helpers/gateway.js';
import {
  BASE,
  cookieGateway,
  type CookieGatewayOptions,
  expectRefused,
  manyRoles,
  MINUTE,
  pairs,
  payloadOf,
  REVALIDATE,
  ringOf,
  sealedOf,
  UNAUTHENTICATED,
  written,
} from '../session/cookie-mode-fixture.js';

interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: string;
  json(): any;
}

/** The headers of a same-origin fetch from the SPA, as a browser writes them. */
const FETCH = { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors', 'X-CSRF': '1' };

/**
 * One HTTP/1.1 request on a fresh TCP connection, exactly as given: `headers` pairs are written in
 * order (a name may repeat), then the body; the answer is read until the server closes.
 */
function raw(port: number, method: string, path: string, headers: [string, string][], body = ''): Promise<RawResponse> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: gatehouse.test', 'Connection: close', ...headers.map(([n, v]) => `${n}: ${v}`)];
  if (body || method === 'POST' || method === 'DELETE') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}

function parse(text: string): RawResponse {
  const at = text.indexOf('\r\n\r\n');
  const [status = '', ...lines] = text.slice(0, at).split('\r\n');
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') headers[name] = [...((headers[name] as string[] | undefined) ?? []), value];
    else headers[name] = value;
  }
  let body = text.slice(at + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let decoded = '';
    for (;;) {
      const eol = body.indexOf('\r\n');
      const size = Number.parseInt(body.slice(0, eol), 16);
      if (!size) break;
      decoded += body.slice(eol + 2, eol + 2 + size);
      body = body.slice(eol + 4 + size);
    }
    body = decoded;
  }
  return { statusCode: Number(status.split(' ')[1]), headers, body, json: () => JSON.parse(body) };
}

/** The raw answer in the shape the fixture's assertions read. */
const asInjected = (res: RawResponse) => res as unknown as LightMyRequestResponse;

/** The Cookie header a browser would send after a response that set the session: base, then the parts. */
function jarOf(res: RawResponse): string {
  const all = [res.headers['set-cookie'] ?? []].flat();
  const set = all.filter((c) => /^__Host-gatehouse(-c[1-9])?=[^;]/.test(c)).map((c) => c.split(';', 1)[0] as string);
  if (!set.some((c) => c.startsWith(`${BASE}=`))) throw new Error(`no session cookie set: ${res.statusCode} ${res.body}`);
  return set.join('; ');
}

let dir: string;
let open: TestGateway[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cookie-outsider-'));
});
afterEach(async () => {
  for (const gw of open.reverse()) await gw.close();
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

interface Listening {
  gw: TestGateway;
  port: number;
  get(cookie: string | undefined, path?: string, extra?: [string, string][]): Promise<RawResponse>;
  send(method: 'POST' | 'DELETE', path: string, cookie: string, headers?: [string, string][], body?: string): Promise<RawResponse>;
  login(username?: string): Promise<{ cookie: string; id: string; csrfToken: string; userId: string }>;
  registry(userId: string): Promise<string[]>;
}

/** A cookie-mode gateway (fixture defaults: memory store, fake clock) listening on a loopback port. */
async function listening(options: CookieGatewayOptions = {}): Promise<Listening> {
  const gw = await cookieGateway(options);
  open.push(gw);
  await gw.gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gw.gatehouse.app.server.address() as AddressInfo;
  const withCookie = (cookie: string | undefined): [string, string][] => (cookie === undefined ? [] : [['Cookie', cookie]]);
  const self: Listening = {
    gw,
    port,
    get: (cookie, path = '/auth/session', extra = []) => raw(port, 'GET', path, [...Object.entries(FETCH), ...withCookie(cookie), ...extra]),
    send: (method, path, cookie, headers = Object.entries(FETCH), body = '') => raw(port, method, path, [...headers, ...withCookie(cookie)], body),
    async login(username = 'alice') {
      const body = JSON.stringify({ username, password: PASSWORD });
      const res = await raw(port, 'POST', '/auth/login', [...Object.entries(FETCH), ['Content-Type', 'application/json']], body);
      expect(res.statusCode, res.body).toBe(200);
      const view = res.json();
      return { cookie: jarOf(res), id: view.session.id, csrfToken: view.csrfToken, userId: view.user.id };
    },
    registry: async (userId) => (await gw.gatehouse.store.listByUser(userId)).map((r) => r.id),
  };
  return self;
}

async function expectLive(g: Listening, cookie: string, username = 'alice'): Promise<void> {
  const res = await g.get(cookie);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().user.username).toBe(username);
}

/** The exact 401 (fixture's expectRefused), on the session endpoint and on a protected file. */
async function expectRefusedEverywhere(g: Listening, cookie: string, chunks: number[] = []): Promise<void> {
  expectRefused(asInjected(await g.get(cookie)), chunks);
  expectRefused(asInjected(await g.get(cookie, '/files/report.txt')), chunks);
}

function expectCsrfRejected(res: RawResponse): void {
  expect(res.statusCode, res.body).toBe(403);
  expect(res.json().error).toBe('csrf_rejected');
  expect(written(asInjected(res))).toEqual([]);
}

describe('replay of a captured cookie after the session ended', () => {
  it('after POST /auth/logout: 401 and cleared on every later request, the registry forgets the id, the other device stays', async () => {
    const g = await listening();
    const captured = await g.login();
    const other = await g.login();
    const out = await g.send('POST', '/auth/logout', captured.cookie);
    expect(out.statusCode, out.body).toBe(200);
    expect(written(asInjected(out))).toEqual([]);
    await expectRefusedEverywhere(g, captured.cookie);
    expect(await g.registry(captured.userId)).toEqual([other.id]);
    // Still refused once a revalidation is due, and a second logout with the copy ends nothing else.
    g.gw.clock.advance(REVALIDATE);
    await expectRefusedEverywhere(g, captured.cookie);
    const again = await g.send('POST', '/auth/logout', captured.cookie);
    expect(again.statusCode).toBe(200);
    expect(written(asInjected(again))).toEqual([]);
    await expectLive(g, other.cookie);
  });

  it('after DELETE /auth/sessions/:id from the other session: refused; the revoker keeps its session', async () => {
    const g = await listening();
    const captured = await g.login();
    const other = await g.login();
    const res = await g.send('DELETE', `/auth/sessions/${encodeURIComponent(captured.id)}`, other.cookie);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ revoked: 1 });
    await expectRefusedEverywhere(g, captured.cookie);
    await expectLive(g, other.cookie);
    expect(await g.registry(captured.userId)).toEqual([other.id]);
  });

  it("another user's session id is not revocable: 404 session_not_found, the victim's session lives", async () => {
    const g = await listening();
    const victim = await g.login('alice');
    const attacker = await g.login('bob');
    const res = await g.send('DELETE', `/auth/sessions/${encodeURIComponent(victim.id)}`, attacker.cookie);
    expect(res.statusCode, res.body).toBe(404);
    expect(res.json().error).toBe('session_not_found');
    await expectLive(g, victim.cookie);
  });

  it('a re-issued copy and the original are refused together after logout (same session id in both)', async () => {
    const g = await listening();
    const first = await g.login();
    g.gw.clock.advance(2 * MINUTE);
    const slid = await g.get(first.cookie);
    expect(slid.statusCode).toBe(200);
    const reissued = jarOf(slid);
    expect(reissued).not.toBe(first.cookie);
    const out = await g.send('POST', '/auth/logout', reissued);
    expect(out.statusCode).toBe(200);
    await expectRefusedEverywhere(g, first.cookie);
    await expectRefusedEverywhere(g, reissued);
  });
});

describe('CSRF on POST /auth/logout (the session must survive every refused attempt)', () => {
  const cases: [string, [string, string][], string?][] = [
    ['same origin, no X-CSRF', [['Origin', ORIGIN], ['Sec-Fetch-Site', 'same-origin'], ['Content-Type', 'application/json']], '{}'],
    ['no Origin, no Fetch Metadata, no X-CSRF (an old browser or curl)', []],
    ['cross-site with X-CSRF: 1', [['Origin', 'https://evil.test'], ['Sec-Fetch-Site', 'cross-site'], ['X-CSRF', '1']]],
    ['Origin of another site, no Fetch Metadata, with X-CSRF: 1', [['Origin', 'https://evil.test'], ['X-CSRF', '1']]],
    ['Origin null (sandboxed iframe), with X-CSRF: 1', [['Origin', 'null'], ['X-CSRF', '1']]],
    ['same-site (a sibling subdomain), with X-CSRF: 1', [['Origin', 'https://sub.gatehouse.test'], ['Sec-Fetch-Site', 'same-site'], ['X-CSRF', '1']]],
    ['X-CSRF sent twice (joined "1, 1")', [['Origin', ORIGIN], ['X-CSRF', '1'], ['X-CSRF', '1']]],
    ['X-CSRF: true', [['Origin', ORIGIN], ['X-CSRF', 'true']]],
    ['a plain form without _csrf', [['Origin', ORIGIN], ['Content-Type', 'application/x-www-form-urlencoded']], 'a=1'],
    ['a plain form with a made-up _csrf', [['Origin', ORIGIN], ['Content-Type', 'application/x-www-form-urlencoded']], '_csrf=abc.def'],
    ['a text/plain body (no preflight) without X-CSRF', [['Origin', ORIGIN], ['Content-Type', 'text/plain']], 'x'],
  ];
  it.each(cases)('%s → 403 csrf_rejected, the session still live and not revoked', async (_name, headers, body) => {
    const g = await listening();
    const alice = await g.login();
    expectCsrfRejected(await g.send('POST', '/auth/logout', alice.cookie, headers, body));
    await expectLive(g, alice.cookie);
    expect(await g.registry(alice.userId)).toEqual([alice.id]);
  });

  it("a form carrying another session's anti-forgery token (the attacker's own) → 403; the victim stays signed in", async () => {
    const g = await listening();
    const victim = await g.login('alice');
    const attacker = await g.login('bob');
    const headers: [string, string][] = [['Origin', ORIGIN], ['Content-Type', 'application/x-www-form-urlencoded']];
    expectCsrfRejected(await g.send('POST', '/auth/logout', victim.cookie, headers, `_csrf=${encodeURIComponent(attacker.csrfToken)}`));
    expectCsrfRejected(await g.send('POST', '/auth/logout', victim.cookie, [['Origin', ORIGIN], ['X-CSRF-Token', attacker.csrfToken]]));
    await expectLive(g, victim.cookie);
  });

  it("control: the victim's own token in the form logs out (the refusals above are the token, not the form)", async () => {
    const g = await listening();
    const alice = await g.login();
    const headers: [string, string][] = [['Origin', ORIGIN], ['Content-Type', 'application/x-www-form-urlencoded']];
    const res = await g.send('POST', '/auth/logout', alice.cookie, headers, `_csrf=${encodeURIComponent(alice.csrfToken)}`);
    expect(res.statusCode, res.body).toBe(200);
    await expectRefusedEverywhere(g, alice.cookie);
  });

  it('a refused logout with a slide due does not extend the session (no cookie written on the 403)', async () => {
    const g = await listening();
    const alice = await g.login();
    g.gw.clock.advance(2 * MINUTE);
    const res = await g.send('POST', '/auth/logout', alice.cookie, [['Origin', 'https://evil.test'], ['Sec-Fetch-Site', 'cross-site']]);
    expectCsrfRejected(res);
  });

  it('a same-origin logout with a wrong X-CSRF-Token while a slide is due → 403; the session not revoked, and any cookie on the 403 is the same session with the same absolute expiry', async () => {
    // The token check reads the session, so the 403 may carry the idle slide that read produced:
    // only a holder of the cookie can cause it (cross-site is refused before the session is read),
    // and the absolute expiry never moves.
    const g = await listening();
    const alice = await g.login();
    const before = (await payloadOf(g.gw, alice.cookie)) as CookiePayload;
    g.gw.clock.advance(2 * MINUTE);
    const res = await g.send('POST', '/auth/logout', alice.cookie, [['Origin', ORIGIN], ['Sec-Fetch-Site', 'same-origin'], ['X-CSRF-Token', `${alice.csrfToken}x`]]);
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().error).toBe('csrf_rejected');
    for (const cookie of written(asInjected(res))) {
      const after = (await payloadOf(g.gw, cookie.split(';', 1)[0] as string)) as CookiePayload;
      expect([after.id, after.e, after.c]).toEqual([before.id, before.e, before.c]);
    }
    await expectLive(g, alice.cookie);
    expect(await g.registry(alice.userId)).toEqual([alice.id]);
  });
});

describe('session fixation: a cookie planted before sign-in', () => {
  it("the attacker's own cookie in the victim's browser: signing in issues a new session id and ends the planted session", async () => {
    const g = await listening();
    const planted = await g.login('bob');
    const body = JSON.stringify({ username: 'alice', password: PASSWORD });
    const res = await raw(g.port, 'POST', '/auth/login', [...Object.entries(FETCH), ['Content-Type', 'application/json'], ['Cookie', planted.cookie]], body);
    expect(res.statusCode, res.body).toBe(200);
    const victim = jarOf(res);
    expect(res.json().session.id).not.toBe(planted.id);
    await expectLive(g, victim, 'alice');
    // The planted session is revoked (login ends whatever session the browser presented).
    await expectRefusedEverywhere(g, planted.cookie);
    expect(await g.registry(planted.userId)).toEqual([]);
  });
});

/** A gateway with carol, whose 60 roles seal to two chunks, and two of her split sessions. */
async function splitSessions(): Promise<{ g: Listening; x: Map<string, string>; y: Map<string, string>; xCookie: string; userId: string }> {
  const g = await listening();
  await g.gw.gatehouse.local?.accounts.add({ username: 'carol', password: PASSWORD, name: 'Carol', roles: manyRoles(60) });
  const x = await g.login('carol');
  const y = await g.login('carol');
  expect(pairs(x.cookie).map(([n]) => n)).toEqual([BASE, `${BASE}-c1`, `${BASE}-c2`]);
  expect(pairs(x.cookie)[0]?.[1]).toBe('chunks-2');
  return { g, x: new Map(pairs(x.cookie)), y: new Map(pairs(y.cookie)), xCookie: x.cookie, userId: x.userId };
}

const header = (...parts: [string, string | undefined][]) => parts.map(([n, v]) => `${n}=${v}`).join('; ');
const C1 = `${BASE}-c1`;
const C2 = `${BASE}-c2`;

describe('the parts of a split session, rearranged by hand', () => {
  it('control: the parts in reverse order, or spread over two Cookie header lines → 200 (parts are read by name)', async () => {
    const { g, x } = await splitSessions();
    await expectLive(g, header([C2, x.get(C2)], [C1, x.get(C1)], [BASE, x.get(BASE)]), 'carol');
    const res = await raw(g.port, 'GET', '/auth/session', [...Object.entries(FETCH), ['Cookie', header([BASE, x.get(BASE)])], ['Cookie', header([C1, x.get(C1)], [C2, x.get(C2)])]]);
    expect(res.statusCode, res.body).toBe(200);
  });

  const mixes: [string, (x: Map<string, string>, y: Map<string, string>) => string][] = [
    ['base and c1 of one session, c2 of the other', (x, y) => header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, y.get(C2)])],
    ['c1 of the other session', (x, y) => header([BASE, x.get(BASE)], [C1, y.get(C1)], [C2, x.get(C2)])],
    ['the two parts swapped (c1 holds c2)', (x) => header([BASE, x.get(BASE)], [C1, x.get(C2)], [C2, x.get(C1)])],
    ['c1 sent twice, once from each session', (x, y) => header([BASE, x.get(BASE)], [C1, x.get(C1)], [C1, y.get(C1)], [C2, x.get(C2)])],
    ['c2 twice, the genuine one first', (x, y) => header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, x.get(C2)], [C2, y.get(C2)])],
    ['the base twice: chunks-2 and chunks-1', (x) => header([BASE, x.get(BASE)], [BASE, 'chunks-1'], [C1, x.get(C1)], [C2, x.get(C2)])],
    ['chunks-2 with c2 empty', (x) => header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, ''])],
    ['c1 with a character dropped and c2 with it prepended (same join, other session)', (x, y) => header([BASE, x.get(BASE)], [C1, y.get(C1)?.slice(0, -1)], [C2, `${y.get(C1)?.slice(-1)}${x.get(C2)}`])],
  ];
  it.each(mixes)('%s → 401, base and the parts sent expired, no session issued', async (_name, build) => {
    const { g, x, y, xCookie, userId } = await splitSessions();
    const before = await g.registry(userId);
    const cookie = build(x, y);
    const chunks = [...new Set(pairs(cookie).map(([n]) => n).filter((n) => /^__Host-gatehouse-c[1-9]$/.test(n)).map((n) => Number(n.slice(-1))))];
    expectRefused(asInjected(await g.get(cookie)), chunks);
    expect(await g.registry(userId)).toEqual(before);
    await expectLive(g, xCookie, 'carol');
  });

  it('the genuine value split at other points (chunks-1 holding it all, or chunks-3) → 200: only the join is authenticated', async () => {
    // Characterization: the split points are not part of the seal. This gives an attacker nothing
    // (it is the same sealed value, which they already hold), so it is no weakness; the test pins it.
    const { g, x } = await splitSessions();
    const whole = `${x.get(C1)}${x.get(C2)}`;
    await expectLive(g, header([BASE, 'chunks-1'], [C1, whole]), 'carol');
    await expectLive(g, header([BASE, 'chunks-3'], [C1, whole.slice(0, 10)], [C2, whole.slice(10, 20)], [`${BASE}-c3`, whole.slice(20)]), 'carol');
  });

  it('extra parts beside a genuine split session (c3, c0, c10, c999999, c1x) are ignored: 200, and no 500', async () => {
    const { g, x } = await splitSessions();
    const extras: [string, string][] = [[`${BASE}-c3`, 'junk'], [`${BASE}-c0`, 'junk'], [`${BASE}-c10`, x.get(C1) ?? ''], [`${BASE}-c999999`, 'x'], [`${BASE}-c1x`, 'y']];
    await expectLive(g, header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, x.get(C2)], ...extras), 'carol');
  });

  it('c0 and c999999 carrying the genuine parts (base chunks-2) → 401; only the real part names are cleared', async () => {
    const { g, x } = await splitSessions();
    expectRefused(asInjected(await g.get(header([BASE, x.get(BASE)], [`${BASE}-c0`, x.get(C1)], [`${BASE}-c999999`, x.get(C2)]))));
  });

  it('hundreds of parts within the 16 KB header limit: 300 junk parts beside the genuine ones → 200; 500 parts under a junk chunks-9 → 401, only c1…c3 cleared', async () => {
    const { g, x } = await splitSessions();
    const junk = Array.from({ length: 300 }, (_, i): [string, string] => [`${BASE}-c${i + 3}`, 'x']);
    await expectLive(g, header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, x.get(C2)], ...junk), 'carol');
    const many = Array.from({ length: 500 }, (_, i): [string, string] => [`${BASE}-c${(i % 9) + 1}`, `v${i}`]);
    const res = await g.get(header([BASE, 'chunks-9'], ...many));
    expectRefused(asInjected(res), [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => n <= 3));
  });

  it('a Cookie header past 16 KB → 431 headers_too_large, nothing set, and the genuine session still works', async () => {
    const { g, x, xCookie } = await splitSessions();
    const res = await g.get(`${header([BASE, x.get(BASE)], [C1, x.get(C1)], [C2, x.get(C2)])}; pad=${'a'.repeat(17_000)}`);
    expect(res.statusCode).toBe(431);
    expect(res.json().error).toBe('headers_too_large');
    expect(res.headers['set-cookie']).toBeUndefined();
    await expectLive(g, xCookie, 'carol');
  });

  it('chunks-3 whose parts total more than maxBytes (each under 4 KB), and chunks-4 (more parts than the ceiling allows) → 401', async () => {
    const { g } = await splitSessions();
    const parts = Array.from({ length: 4 }, (_, i): [string, string] => [`${BASE}-c${i + 1}`, 'A'.repeat(3_000)]);
    expectRefused(asInjected(await g.get(header([BASE, 'chunks-3'], ...parts.slice(0, 3)))), [1, 2, 3]);
    expectRefused(asInjected(await g.get(header([BASE, 'chunks-4'], ...parts.slice(0, 3)))), [1, 2, 3]);
  });
});

/**
 * Compact JWE `dir` + AES-GCM written by hand, so any protected header (zip, crit, enc, a header
 * JSON text with duplicate keys) can be authentic: AES-128-GCM for a 16-byte key, else AES-256-GCM.
 */
function handSealed(key: Buffer, protectedHeader: Record<string, unknown> | string, plaintext: Buffer): string {
  const headerJson = typeof protectedHeader === 'string' ? protectedHeader : JSON.stringify(protectedHeader);
  const encodedHeader = Buffer.from(headerJson).toString('base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [encodedHeader, '', iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

describe('JWEs the gateway never writes', () => {
  let g: Listening;
  let alice: Awaited<ReturnType<Listening['login']>>;
  let payload: CookiePayload;
  let key: SecretKey;
  let sessionKey: Buffer;
  beforeEach(async () => {
    const clock = testClock();
    key = generateKey(clock());
    g = await listening({ clock, deps: { keys: ringOf(clock, [key]) } });
    alice = await g.login();
    payload = (await payloadOf(g.gw, alice.cookie)) as CookiePayload;
    sessionKey = subkey(key, 'session-cookie');
  });
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const base = () => ({ alg: 'dir', enc: 'A256GCM', kid: key.kid, cty: 'session-cookie' });

  it('control: the genuine payload hand-sealed with the standard header → 200 (the refusals below differ in one thing)', async () => {
    await expectLive(g, `${BASE}=${handSealed(sessionKey, base(), json(payload))}`);
  });

  const variants: [string, () => string][] = [
    ['sealed under a key id not in the ring (an outsider key)', () => handSealed(randomBytes(32), { ...base(), kid: 'not-ours' }, json(payload))],
    ['an outsider key under our kid', () => handSealed(randomBytes(32), base(), json(payload))],
    ['alg none, empty ciphertext fields', () => `${Buffer.from(JSON.stringify({ alg: 'none', enc: 'A256GCM', kid: key.kid, cty: 'session-cookie' })).toString('base64url')}..${json(payload).toString('base64url')}..`],
    ['enc A128GCM (authentic with the first 16 bytes of our subkey)', () => handSealed(sessionKey.subarray(0, 16), { ...base(), enc: 'A128GCM' }, json(payload))],
    ['crit ["exp"] with exp, authentic under our subkey', () => handSealed(sessionKey, { ...base(), crit: ['exp'], exp: 9_999_999_999 }, json(payload))],
    ['crit naming an unknown extension, authentic under our subkey', () => handSealed(sessionKey, { ...base(), crit: ['x-gatehouse'], 'x-gatehouse': true }, json(payload))],
    ['cty missing, authentic under our subkey', () => handSealed(sessionKey, { alg: 'dir', enc: 'A256GCM', kid: key.kid }, json(payload))],
    ['kid a number, authentic under our subkey', () => handSealed(sessionKey, { ...base(), kid: 1 }, json(payload))],
    ['a duplicated alg key in the protected header (the last says none), authentic', () => handSealed(sessionKey, `{"alg":"dir","enc":"A256GCM","kid":"${key.kid}","cty":"session-cookie","alg":"none"}`, json(payload))],
    ['six segments', () => `${handSealed(sessionKey, base(), json(payload))}.AAAA`],
    ['the JWE percent-encoded', () => encodeURIComponent(handSealed(sessionKey, base(), json(payload))).replace(/\./g, '%2E')],
    ['the JWE with a NUL byte appended', () => `${handSealed(sessionKey, base(), json(payload))}%00`],
    ['a JWE of about 12 000 characters (over maxBytes, under the 16 KB header limit)', () => handSealed(sessionKey, base(), Buffer.alloc(9_000, 0x41))],
  ];
  it.each(variants)('%s → 401 and cleared, no 500', async (_name, make) => {
    const res = await g.get(`${BASE}=${make()}`);
    expectRefused(asInjected(res));
    await expectLive(g, alice.cookie);
  });

  // Found here (needs the key ring, not reachable by an outsider): unseal (keys/seal.ts) checked
  // alg, enc, cty and kid but not `zip`, and jose 6 inflates `zip: "DEF"`, so a compressed JWE the
  // gateway never writes was accepted when authentic. unseal now refuses any header parameter
  // seal() does not write.
  it('zip DEF: the deflated payload, authentic under our subkey → 401 and cleared', async () => {
    const res = await g.get(`${BASE}=${handSealed(sessionKey, { ...base(), zip: 'DEF' }, deflateRawSync(json(payload)))}`);
    expectRefused(asInjected(res));
  });

  it('a payload with every timestamp an hour in the future (k too), for a real session id → 200 re-checked: the re-issue carries the registry\'s times, not the forged ones', async () => {
    const now = g.gw.clock();
    const forged: CookiePayload = { ...payload, c: now + 60 * MINUTE, s: now + 60 * MINUTE, i: now + 90 * MINUTE, e: now + 100 * 60 * MINUTE, k: now + 60 * MINUTE };
    const res = await g.get(`${BASE}=${await seal(g.gw.gatehouse.keys, 'session-cookie', forged)}`);
    expect(res.statusCode, res.body).toBe(200);
    const reissued = (await payloadOf(g.gw, jarOf(res))) as CookiePayload;
    expect(reissued.e).toBe(payload.e);
    expect(reissued.k).toBe(now);
    expect(reissued.i).toBeLessThanOrEqual(now + 30 * MINUTE);
  });

  it('the same future-dated payload under an id the registry does not have → 401 and cleared', async () => {
    const now = g.gw.clock();
    const forged: CookiePayload = { ...payload, id: 'made-up-session-id', k: now + 60 * MINUTE, e: now + 100 * 60 * MINUTE, i: now + 90 * MINUTE };
    expectRefused(asInjected(await g.get(`${BASE}=${await seal(g.gw.gatehouse.keys, 'session-cookie', forged)}`)));
    expect(await g.registry(alice.userId)).toEqual([alice.id]);
  });

  it('the genuine JWE in double quotes → 401 and cleared (values are read as sent: one spelling per value)', async () => {
    expectRefused(asInjected(await g.get(`${BASE}="${sealedOf(alice.cookie)}"`)));
    await expectLive(g, alice.cookie);
  });

  it('a server-mode-looking token beside the JWE (two base cookies) → 401, cleared; either order', async () => {
    const token = generateSessionToken();
    const jwe = sealedOf(alice.cookie);
    expectRefused(asInjected(await g.get(`${BASE}=${token}; ${BASE}=${jwe}`)));
    expectRefused(asInjected(await g.get(`${BASE}=${jwe}; ${BASE}=${token}`)));
    // On two Cookie lines, and a token alone.
    expectRefused(asInjected(await raw(g.port, 'GET', '/auth/session', [...Object.entries(FETCH), ['Cookie', `${BASE}=${jwe}`], ['Cookie', `${BASE}=${token}`]])));
    expectRefused(asInjected(await g.get(`${BASE}=${token}`)));
    await expectLive(g, alice.cookie);
  });
});

describe('switching session.mode on one SQLite store and key ring, with old cookies', () => {
  let clock: TestClock;
  let key: SecretKey;
  beforeEach(() => {
    clock = testClock();
    key = generateKey(clock());
  });
  const file = () => `sqlite:${join(dir, 'gatehouse.db')}`;
  async function start(mode: 'cookie' | 'server', seed: boolean): Promise<Listening> {
    return listening({ clock, seed, session: { store: file(), mode }, config: { local: { enabled: true, store: file() } }, deps: { keys: ringOf(clock, [key]) } });
  }
  async function stop(g: Listening): Promise<void> {
    open = open.filter((x) => x !== g.gw);
    await g.gw.close();
  }

  it('cookie → server: the sealed cookie is no session in server mode (401, nothing issued); server → cookie: the server token is none in cookie mode (401, cleared)', async () => {
    const cookieMode = await start('cookie', true);
    const sealed = await cookieMode.login();
    await stop(cookieMode);
    const serverMode = await start('server', false);
    const refused = await serverMode.get(sealed.cookie);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual(UNAUTHENTICATED);
    expect(written(asInjected(refused))).toEqual([]);
    const token = await serverMode.login();
    await stop(serverMode);
    const back = await start('cookie', false);
    await expectRefusedEverywhere(back, token.cookie);
    // The cookie-mode session, never ended, is valid again (the control for the test below).
    await expectLive(back, sealed.cookie);
  });

  // BUG (mode switch): a cookie-mode session ended while the gateway runs in server mode is not put
  // on the revocation list (server mode deletes the registry record only), so after switching back
  // to cookie mode a captured copy of the cookie is accepted again, until the next revalidation
  // (up to session.revalidateEvery, 5 min by default) finds no registry record. security.md says
  // everything the gateway itself ends applies at once; here the gateway ended it (the user's own
  // "sign out everywhere else" from a server-mode session) and it did not.
  it.fails('a cookie-mode session revoked from server mode ("sign out everywhere else") stays refused after switching back to cookie mode', async () => {
    const cookieMode = await start('cookie', true);
    const captured = await cookieMode.login();
    await stop(cookieMode);
    const serverMode = await start('server', false);
    const now = await serverMode.login();
    expect(await serverMode.registry(now.userId)).toContain(captured.id);
    const res = await serverMode.send('DELETE', '/auth/sessions', now.cookie);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ revoked: 1 });
    expect(await serverMode.registry(now.userId)).toEqual([now.id]);
    await stop(serverMode);
    const back = await start('cookie', false);
    expectRefused(asInjected(await back.get(captured.cookie)));
  });

  // BUG (mode switch): POST /auth/logout in server mode with a cookie-mode cookie answers 200 and
  // clears the cookie, but ends nothing: server mode cannot name the session (the value is a JWE,
  // not a token), so its registry record and cookie stay valid. Switched back to cookie mode, a
  // captured copy of the "signed out" cookie works, and keeps working past revalidations (the
  // registry record is still there), until the idle or absolute timeout.
  it.fails('a cookie-mode cookie "logged out" through a server-mode gateway is no session after switching back', async () => {
    const cookieMode = await start('cookie', true);
    const captured = await cookieMode.login();
    await stop(cookieMode);
    const serverMode = await start('server', false);
    const out = await serverMode.send('POST', '/auth/logout', captured.cookie);
    expect(out.statusCode).toBe(200);
    await stop(serverMode);
    const back = await start('cookie', false);
    clock.advance(REVALIDATE);
    expectRefused(asInjected(await back.get(captured.cookie)));
  });
});
