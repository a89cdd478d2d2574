#!/usr/bin/env node
// Micro-benchmark of cookie mode's per-request and per-sign-in pieces, in one process, with the
// real code from packages/gatehouse/dist: seal and unseal (keys/seal.js, purpose "session-cookie"),
// the cookie parse (cookies/request-cookies.js + SessionCookie.readFrom, and the `cookie` package
// alone), CookieSessionManager.resolveCookie end to end (decrypt + payload check + one memory
// revocation lookup), and the size of the cookie (bytes, number of cookies under the 4096-byte
// rule) for:
//   (a) a local user;
//   (b) an OpenID Connect user with typical claims, tokens by reference (what the product does:
//       the tokens stay in the store, the cookie carries their non-secret description);
//   (c) the same session with its tokens in the cookie (a ~1.2 KB RS256 access token, a ~0.5 KB
//       HS256 refresh token, a ~1 KB RS256 ID token: real JWTs made with jose), as plain JSON inside
//       the JWE, and (c') as the store keeps them (their own sealed JWE nested).
// For reference only (not what the product does, and no proposal to hand-roll crypto): jose's
// compactDecrypt with a pre-imported CryptoKey instead of raw key bytes, and node:crypto's
// AES-256-GCM on the same ciphertext, the floor under any JWE library.
//
//   node bench/cookie-cost.mjs            ~1 min; writes bench/results/cookie-cost-<date>.{json,md}
//   BENCH_QUICK=1 node bench/cookie-cost.mjs   a smoke run (short batches)
//   taskset -c 0 node bench/cookie-cost.mjs    everything on one CPU, as the benchmark server is
//
// Times are medians over batches: wall µs per operation, one at a time (each awaited), and CPU µs
// per operation (process.cpuUsage: every thread of the process, WebCrypto's worker threads included).
import { createDecipheriv, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'cookie';
import { compactDecrypt, generateKeyPair, SignJWT } from 'jose';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const DIST = join(ROOT, 'packages/gatehouse/dist');
const RESULTS_DIR = join(BENCH_DIR, 'results');
if (!existsSync(join(DIST, 'server.js'))) throw new Error('packages/gatehouse/dist is missing: run `npm run build` first');

const load = (path) => import(pathToFileURL(join(DIST, path)).href);
const { seal, unseal } = await load('keys/seal.js');
const { createKeyRing, generateKey } = await load('keys/keyring.js');
const { subkey } = await load('keys/subkey.js');
const { payloadOf } = await load('session/cookie-payload.js');
const { CookieSessionManager } = await load('session/cookie-sessions.js');
const { SessionCookie, MAX_COOKIE_BYTES } = await load('cookies/session-cookie.js');
const { parseCookies } = await load('cookies/request-cookies.js');
const { createMemoryStore } = await load('backends/stores/memory.js');
const { createMemoryRevocations } = await load('backends/revocations/memory.js');
const { antiForgeryToken } = await load('csrf/token.js');
const { sessionView } = await load('auth/view.js');

/** Values as sent, as Gatehouse reads them (request-cookies.ts). */
const RAW = { decode: (value) => value };
const quick = process.env.BENCH_QUICK !== undefined && process.env.BENCH_QUICK !== '' && process.env.BENCH_QUICK !== '0';
/** What measure() registered, run by measureAll(). */
const operations = [];
const BATCH_MS = quick ? 40 : 150;
const BATCHES = quick ? 3 : 11;

// ---------------------------------------------------------------------------------------------
// The sessions, made by the real code

const keys = createKeyRing([generateKey()]);
const store = createMemoryStore();
const revocations = createMemoryRevocations();
// The product's defaults: 30 min idle, 12 h absolute, 5 min revalidation, 8192-byte ceiling.
const cookie = new SessionCookie(
  { name: '__Host-gatehouse', sameSite: 'strict', secure: true, httpOnly: true, path: '/', maxAgeSeconds: 12 * 3600 },
  { maxBytes: 8192 },
);
const sessions = new CookieSessionManager({
  store,
  clock: Date.now,
  idleTimeout: 30 * 60_000,
  absoluteTimeout: 12 * 3600_000,
  keys,
  revocations,
  revalidateEvery: 5 * 60_000,
  fits: (value) => cookie.fits(value),
});
// A realistic revocation list: a few hundred sign-outs, none of them ours.
for (let i = 0; i < 500; i++) await revocations.revoke(`revoked-${i}`, Date.now() + 3600_000);

const client = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' };
const local = await sessions.create({
  user: { id: '7420cb95-7536-446f-93ba-cde306538e54', username: 'jane', name: 'Jane Doe', roles: ['user'] },
  provider: 'local',
  client,
});
const tokens = await providerTokens();
const oidcUser = {
  id: 'keycloak:f1d5b1c2-93a4-4a8e-9b51-0c1e2f3a4b5c',
  username: 'jane.doe',
  name: 'Jane Doe',
  email: 'jane.doe@example.com',
  roles: ['user', 'billing-admin', 'reports-viewer'],
};
const oidcDescription = {
  provider: 'keycloak',
  iss: 'https://id.example.com/realms/main',
  sub: 'f1d5b1c2-93a4-4a8e-9b51-0c1e2f3a4b5c',
  sid: '4b0f7f5e-2c1d-4d47-8a43-8d3b0d7a6e21',
  accessTokenExpiresAt: Date.now() + 300_000,
};
// What the store keeps: the description plus the tokens sealed under "oidc-tokens".
const sealedTokens = await seal(keys, 'oidc-tokens', { ...tokens, expiresAt: oidcDescription.accessTokenExpiresAt });
const oidc = await sessions.create({ user: oidcUser, provider: 'keycloak', client, data: { oidc: { ...oidcDescription, tokens: sealedTokens } } });
const oidcRecord = oidc.record;
const basePayload = payloadOf(oidcRecord, { checkedAt: Date.now(), epoch: revocations.epoch });

const cases = [
  { key: 'local', label: '(a) local user', token: local.token },
  { key: 'oidc', label: '(b) OIDC user, tokens by reference (the product)', token: oidc.token },
  {
    key: 'oidc-tokens',
    label: '(c) OIDC user, tokens in the cookie (plain JSON inside the JWE)',
    token: await seal(keys, 'session-cookie', { ...basePayload, o: { ...basePayload.o, tokens: { ...tokens, expiresAt: oidcDescription.accessTokenExpiresAt } } }),
  },
  {
    key: 'oidc-sealed-tokens',
    label: "(c') OIDC user, tokens in the cookie as the store keeps them (nested JWE)",
    token: await seal(keys, 'session-cookie', { ...basePayload, o: { ...basePayload.o, tokens: sealedTokens } }),
  },
];

// ---------------------------------------------------------------------------------------------
// Measurements

// Warm-up: every path once for a while, so the first case does not pay for the JIT.
for (let i = 0; i < (quick ? 200 : 2000); i++) {
  await unseal(keys, 'session-cookie', await seal(keys, 'session-cookie', { i }));
  await sessions.resolveCookie(local.token);
  cookie.readFrom(parseCookies(`${cookie.name}=${local.token}; a=${i}`));
}

const deviceCookie = '__Host-gatehouse-device=a86f58e0.pAsxUYXPaVNrjvsvArMk9g.tpja6v.RglF1vT77cL3V6CwCdtJPE0FcvmF-1Rxy7z4cQ9IbpE';
const results = [];
for (const c of cases) {
  const size = sizeOf(c.token);
  // The request's Cookie header: the session cookie(s) and the device cookie a browser also sends.
  const header = [...size.pairs, deviceCookie].join('; ');
  const payload = await unseal(keys, 'session-cookie', c.token);
  if (!payload) throw new Error(`${c.key}: does not unseal`);
  const resolved = await sessions.resolveCookie(c.token);
  if (!resolved || resolved.reissue !== undefined) throw new Error(`${c.key}: resolveCookie did not accept it as is`);
  if (cookie.readFrom(parseCookies(header)) !== c.token) throw new Error(`${c.key}: the cookie reader did not give back the value`);
  log(`${c.key}: ${size.cookieBytes} B, ${size.cookies} cookie(s)`);
  const sealInput = c.key === 'local' ? payloadOf(local.record, { checkedAt: Date.now(), epoch: revocations.epoch }) : payload;
  results.push({
    case: c.key,
    label: c.label,
    plaintextBytes: Buffer.byteLength(JSON.stringify(payload)),
    ...size,
    requestCookieHeaderBytes: Buffer.byteLength(header),
    us: {
      seal: measure(() => seal(keys, 'session-cookie', sealInput)),
      unseal: measure(() => unseal(keys, 'session-cookie', c.token)),
      parseAndRead: measure(() => cookie.readFrom(parseCookies(header)), { sync: true }),
      cookieParse: measure(() => parse(header, RAW), { sync: true }),
      resolveCookie: measure(() => sessions.resolveCookie(c.token)),
    },
  });
}

// Reference points on case (a), the usual cookie: where a decrypt's time goes.
const ref = results[0];
const rawKey = subkey(keys.current, 'session-cookie');
const cryptoKey = await crypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['decrypt']);
const OPTIONS = { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] };
const [protectedB64, , ivB64, ciphertextB64, tagB64] = local.token.split('.');
const iv = Buffer.from(ivB64, 'base64url');
const tag = Buffer.from(tagB64, 'base64url');
const aad = Buffer.from(protectedB64, 'ascii');
const nodeDecrypt = () => {
  const decipher = createDecipheriv('aes-256-gcm', rawKey, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(Buffer.from(ciphertextB64, 'base64url')), decipher.final()]);
};
if (!nodeDecrypt().equals(Buffer.from(JSON.stringify(await unseal(keys, 'session-cookie', local.token))))) {
  throw new Error('node:crypto reference decrypt does not match the JWE');
}
const references = {
  joseRawKey: measure(() => compactDecrypt(local.token, rawKey, OPTIONS)),
  joseCryptoKey: measure(() => compactDecrypt(local.token, cryptoKey, OPTIONS)),
  subtleDecryptOnly: measure(() =>
    crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 }, cryptoKey, Buffer.concat([Buffer.from(ciphertextB64, 'base64url'), tag])),
  ),
  nodeCryptoAesGcm: measure(nodeDecrypt, { sync: true }),
  // 50 decrypts in flight at once (as with wrk -c50): wall µs per decrypt when they overlap.
  unseal50InFlight: measure(() => Promise.all(Array.from({ length: 50 }, () => unseal(keys, 'session-cookie', local.token))), { per: 50 }),
  // What the /auth/session route adds per request in cookie mode (the record is new each time,
  // so the answer is not cached per record as in server mode): the anti-forgery HMAC and the body.
  antiForgeryToken: measure(() => antiForgeryToken(keys, local.record.id), { sync: true }),
  sessionBody: measure(() => JSON.stringify(sessionView(local.record, 'k.mac')), { sync: true }),
  hmacSha256: measure(() => createHmac('sha256', rawKey).update(local.record.id).digest('base64url'), { sync: true }),
};

log(`measuring ${operations.length} operations, ${BATCHES} round-robin batches of ~${BATCH_MS} ms each`);
const machineBefore = machineTicks();
const ownBefore = process.cpuUsage();
const wallBefore = performance.now();
await measureAll();
// Cores other processes used meanwhile: this machine is shared, and a busy one slows every figure.
const otherCores = otherLoad(machineBefore, machineTicks(), process.cpuUsage(ownBefore), performance.now() - wallBefore);
if (otherCores !== null && otherCores > 0.15) log(`warning: other processes used ${fmt(otherCores, 2)} cores during the measurement`);

// ---------------------------------------------------------------------------------------------
// Report

const date = new Date().toISOString();
const report = {
  benchmark: 'cookie mode: per-operation cost and cookie size',
  date,
  quick,
  machine: { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, affinity: affinity(), otherCores },
  tokens: Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, Buffer.byteLength(v)])),
  results,
  references,
};
const us = (m) => `${fmt(m.wallUs, m.wallUs < 10 ? 2 : 1)} (${fmt(m.cpuUs, m.cpuUs < 10 ? 2 : 1)})`;
const md = [
  `# Cookie mode: per-operation cost and cookie size`,
  '',
  `Date: ${date}${quick ? ' (quick: smoke run)' : ''}; ${report.machine.cpuModel}, ${report.machine.cores} cores, Node ${process.version}, CPUs ${report.machine.affinity}; other processes used ${otherCores === null ? 'n/a' : fmt(otherCores, 2)} cores meanwhile`,
  '',
  `Provider tokens generated for (c): access ${report.tokens.accessToken} B (RS256), refresh ${report.tokens.refreshToken} B (HS256), ID ${report.tokens.idToken} B (RS256).`,
  '',
  '| session | plaintext B | cookie bytes (names + values) | cookies (4096-byte rule) | Cookie header B (+ device cookie) | fits 8192? |',
  '|---|---:|---:|---:|---:|:---:|',
  ...results.map((r) => `| ${r.label} | ${r.plaintextBytes} | ${r.cookieBytes} | ${r.cookies} | ${r.requestCookieHeaderBytes} | ${r.fitsDefault ? 'yes' : '**no**'} |`),
  '',
  'µs per operation: wall, one at a time (CPU of all threads in parentheses)',
  '',
  '| session | seal | unseal | parse + read (Gatehouse) | `cookie` parse alone | resolveCookie (unseal + checks + revocation lookup) |',
  '|---|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.case} | ${us(r.us.seal)} | ${us(r.us.unseal)} | ${us(r.us.parseAndRead)} | ${us(r.us.cookieParse)} | ${us(r.us.resolveCookie)} |`),
  '',
  `References on (a), ${ref.cookieBytes} B:`,
  '',
  '| operation | µs wall (CPU) |',
  '|---|---:|',
  `| jose compactDecrypt, raw key bytes (what unseal does) | ${us(references.joseRawKey)} |`,
  `| jose compactDecrypt, pre-imported CryptoKey | ${us(references.joseCryptoKey)} |`,
  `| crypto.subtle.decrypt alone (AES-GCM, imported key) | ${us(references.subtleDecryptOnly)} |`,
  `| node:crypto AES-256-GCM decipher (sync, the floor) | ${us(references.nodeCryptoAesGcm)} |`,
  `| unseal, 50 in flight, per decrypt | ${us(references.unseal50InFlight)} |`,
  `| antiForgeryToken (HMAC-SHA256) | ${us(references.antiForgeryToken)} |`,
  `| session body (sessionView + JSON.stringify) | ${us(references.sessionBody)} |`,
  '',
].join('\n');
console.log(`\n${md}`);
mkdirSync(RESULTS_DIR, { recursive: true });
const base = join(RESULTS_DIR, `cookie-cost-${date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}`);
for (const [file, text] of [
  [`${base}.json`, `${JSON.stringify(report, null, 2)}\n`],
  [`${base}.md`, md],
  [join(RESULTS_DIR, 'latest-cookie-cost.json'), `${JSON.stringify(report, null, 2)}\n`],
  [join(RESULTS_DIR, 'latest-cookie-cost.md'), md],
]) {
  writeFileSync(file, text);
}
log(`wrote ${relative(ROOT, `${base}.json`)}, ${relative(ROOT, `${base}.md`)}`);
await store.close?.();
await revocations.close();

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * The cookies a sealed value becomes (SessionCookie.write, the product's chunking: name + value
 * within 4096 bytes each) and their bytes: names + values, as the browser counts them.
 */
function sizeOf(token) {
  const fitsDefault = cookie.fits(token);
  // A value beyond the 8192-byte ceiling is still measured, with the largest ceiling (12288).
  const writer = fitsDefault ? cookie : new SessionCookie({ name: cookie.name, sameSite: 'strict', secure: true, httpOnly: true, path: '/' }, { maxBytes: 12288 });
  const pairs = writer.write(token, undefined).map((h) => h.split(';', 1)[0]);
  for (const pair of pairs) if (Buffer.byteLength(pair) - 1 > MAX_COOKIE_BYTES) throw new Error('a chunk exceeds 4096 bytes');
  return {
    sealedBytes: token.length,
    cookieBytes: pairs.reduce((sum, p) => sum + Buffer.byteLength(p) - 1, 0),
    cookies: pairs.length,
    fitsDefault,
    pairs,
  };
}

/**
 * Registers an operation; {@link measureAll} fills in its median wall and CPU µs per call. The
 * batches of all operations run round-robin, so a slow spell of the (shared, virtual) machine
 * lands on every operation alike instead of on whichever was being measured at the time.
 */
function measure(fn, { sync = false, per = 1 } = {}) {
  const result = { wallUs: Number.NaN, cpuUs: Number.NaN, calls: 0 };
  const run = sync
    ? async (n) => {
        for (let i = 0; i < n; i++) fn();
      }
    : async (n) => {
        for (let i = 0; i < n; i++) await fn();
      };
  operations.push({ run, per, result, n: 1, wall: [], cpu: [] });
  return result;
}

async function measureAll() {
  for (const op of operations) {
    // Calibrate: how many calls fill a batch (warming the JIT up on the way).
    for (;;) {
      const t = performance.now();
      await op.run(op.n);
      const elapsed = performance.now() - t;
      if (elapsed >= BATCH_MS / 4) {
        op.n = Math.max(1, Math.round((op.n * BATCH_MS) / elapsed));
        break;
      }
      op.n *= 2;
    }
  }
  for (let b = 0; b < BATCHES; b++) {
    for (const op of operations) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await op.run(op.n);
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      op.wall.push(((t1 - t0) * 1000) / (op.n * op.per));
      op.cpu.push((c1.user + c1.system) / (op.n * op.per));
    }
  }
  for (const op of operations) {
    Object.assign(op.result, { wallUs: round(median(op.wall), 2), cpuUs: round(median(op.cpu), 2), calls: op.n * BATCHES * op.per });
  }
}

/** Real JWTs of typical sizes: a Keycloak-like access token, a refresh token, an ID token. */
async function providerTokens() {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const now = Math.floor(Date.now() / 1000);
  const common = {
    iss: 'https://id.example.com/realms/main',
    sub: 'f1d5b1c2-93a4-4a8e-9b51-0c1e2f3a4b5c',
    sid: '4b0f7f5e-2c1d-4d47-8a43-8d3b0d7a6e21',
    azp: 'gatehouse',
    iat: now,
    auth_time: now,
  };
  const profile = { name: 'Jane Doe', given_name: 'Jane', family_name: 'Doe', preferred_username: 'jane.doe', email: 'jane.doe@example.com', email_verified: true };
  const rs = (claims, typ) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ, kid: 'Qm9yJ2kxVfZ3cS1nLWtleS0yMDI2' }).sign(privateKey);
  const accessToken = await rs(
    {
      ...common,
      exp: now + 300,
      jti: 'onrtac:8c2e4a6b-1f3d-4e5a-9b7c-2d4f6a8b0c1e',
      aud: ['orders-api', 'account'],
      typ: 'Bearer',
      acr: '1',
      realm_access: { roles: ['offline_access', 'uma_authorization', 'user'] },
      resource_access: { 'orders-api': { roles: ['orders:read', 'orders:write'] } },
      scope: 'openid profile email offline_access',
      name: profile.name,
      preferred_username: profile.preferred_username,
      email: profile.email,
      email_verified: true,
    },
    'at+jwt',
  );
  const idToken = await rs(
    { ...common, exp: now + 300, aud: 'gatehouse', jti: '2f9d1c7a-5b3e-4a8f-9c6d-1e2b3a4c5d6e', typ: 'ID', nonce: 'r4nd0m-n0nc3-v4lu3-fr0m-th3-l0g1n-r3qu3st', at_hash: 'vU4qHq3rYk1cV7mXh8LwNg', ...profile },
    'JWT',
  );
  const refreshToken = await new SignJWT({
    iss: common.iss,
    sub: common.sub,
    azp: common.azp,
    iat: now,
    exp: now + 1800,
    jti: '6a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d',
    aud: 'https://id.example.com/realms/main',
    typ: 'Refresh',
    scope: 'openid profile email offline_access',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: '7c1e4b2a-refresh' })
    .sign(new Uint8Array(32).fill(7));
  return { accessToken, refreshToken, idToken };
}

/** Busy and total clock ticks of the whole machine (Linux /proc/stat), or null. */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { total, busy: total - f[3] - f[4] };
  } catch {
    return null;
  }
}

/** Cores used by everything but this process between two machineTicks(). */
function otherLoad(before, after, own, wallMs) {
  if (!before || !after || after.total <= before.total) return null;
  const cores = os.cpus().length;
  const busyCores = ((after.busy - before.busy) / (after.total - before.total)) * cores;
  const ownCores = (own.user + own.system) / 1000 / wallMs;
  return round(Math.max(0, busyCores - ownCores), 2);
}

/** The CPUs this process may run on (Linux: Cpus_allowed_list; `taskset -c 0` shows as "0"). */
function affinity() {
  try {
    return readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? 'all';
  } catch {
    return 'unknown';
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n, digits) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function log(message) {
  console.error(`[cookie-cost] ${message}`);
}
