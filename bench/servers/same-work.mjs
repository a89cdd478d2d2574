// The "same-work" baseline for cookie mode: plain Fastify 5 (logger off) doing what any server that
// keeps the session in an encrypted cookie must do on GET /auth/session, and nothing else:
//
//   1. the same response headers as a real Gatehouse answer (measured by run.mjs from one, passed in
//      BENCH_HEADERS_FILE: the security headers, Cache-Control: no-store, the content type);
//   2. parse the Cookie header with the `cookie` package (the parser Gatehouse uses);
//   3. open a compact JWE (dir + A256GCM) with jose's compactDecrypt, of the same length as the real
//      session cookie (same protected header shape, a plaintext of the same byte count), and parse
//      its JSON: the cookie is confidential and tamper-proof only if it is authenticated-decrypted on
//      every request;
//   4. one Map lookup of the session id (the memory revocation list's equivalent);
//   5. answer the same JSON body (a copy of a real cookie-mode answer, BENCH_BODY_FILE), serialized
//      per request as plain.mjs does.
//
// The key is a 32-byte Uint8Array, the form Gatehouse hands jose (src/keys/seal.ts), so jose does
// the same work per call. The cookie this server accepts is made here, at start, and reported to
// run.mjs, which checks that its length equals the real cookie's.
//
// Env (set by run.mjs): BENCH_BODY_FILE, BENCH_HEADERS_FILE, BENCH_COOKIE_NAME, BENCH_JWE_HEADER
// (the real cookie's protected header, JSON), BENCH_PLAINTEXT_BYTES (the real plaintext's length).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'cookie';
import Fastify from 'fastify';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { exitWithParent, report } from './child.mjs';

exitWithParent();

const body = JSON.parse(readFileSync(required('BENCH_BODY_FILE'), 'utf8'));
const headers = Object.freeze(JSON.parse(readFileSync(required('BENCH_HEADERS_FILE'), 'utf8')));
const cookieName = required('BENCH_COOKIE_NAME');
const protectedHeader = JSON.parse(required('BENCH_JWE_HEADER'));
const plaintextBytes = Number(required('BENCH_PLAINTEXT_BYTES'));

const key = new Uint8Array(randomBytes(32));
const sessionId = randomBytes(32).toString('base64url');
// The payload: the session id the lookup needs, padded to the real plaintext's length.
const bare = JSON.stringify({ id: sessionId, pad: '' });
if (bare.length > plaintextBytes) throw new Error(`BENCH_PLAINTEXT_BYTES ${plaintextBytes} is below the minimum ${bare.length}`);
const plaintext = new TextEncoder().encode(JSON.stringify({ id: sessionId, pad: 'x'.repeat(plaintextBytes - bare.length) }));
const cookieValue = await new CompactEncrypt(plaintext).setProtectedHeader(protectedHeader).encrypt(key);

// The revocation list: a few revoked ids, none of them this session's.
const revoked = new Map(Array.from({ length: 16 }, () => [randomBytes(32).toString('base64url'), Date.now() + 3_600_000]));
const RAW = { decode: (value) => value };
const decoder = new TextDecoder();
const DECRYPT_OPTIONS = { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] };
const unauthenticated = { error: 'unauthenticated', message: 'Sign in first.' };

const app = Fastify({ logger: false });
app.get('/auth/session', async (request, reply) => {
  reply.headers(headers);
  const value = parse(request.headers.cookie ?? '', RAW)[cookieName];
  let payload;
  try {
    payload = value ? JSON.parse(decoder.decode((await compactDecrypt(value, key, DECRYPT_OPTIONS)).plaintext)) : undefined;
  } catch {
    payload = undefined;
  }
  if (typeof payload?.id !== 'string' || revoked.has(payload.id)) return reply.code(401).send(unauthenticated);
  return body;
});

await app.listen({ host: '127.0.0.1', port: 0 });
report({ port: app.server.address().port, cookie: `${cookieName}=${cookieValue}` });

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
