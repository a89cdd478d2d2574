// Property-based: the session cookie read path (Cookie header → SessionCookie.read → the token
// shape check → SessionManager.resolve → the store). Whatever Cookie header a client sends —
// duplicates, look-alike names, quoted, percent-encoded, huge, unicode, control characters — the
// path never throws, never looks up anything but a well-formed token, never resolves a forged or
// random value, and finds the real session whatever junk cookies surround it.
//
// The rule for duplicates (documented in SessionCookie.read): the same value twice (a client that
// split its Cookie header, RFC 9113 §8.2.3) is that value; two different values of the session
// cookie are ambiguous and mean no session. A browser holds one __Host- cookie per name for this
// host; a second value can only have been slipped in by another party, and its position in the
// header (RFC 6265bis §5.8.3: longer Path first, then older) is the attacker's to choose.
//
// Every property runs in both session modes (`session.mode`). Server mode: the value is a 43-char
// token and the store is asked about a well-formed token's hash only. Cookie mode: the value is
// the sealed session (a JWE), the store is asked nothing at all (a request reads no session record
// within `revalidateEvery`), forged values include re-sealed ones (sealedForgeries), and a large
// session is split into `__Host-gatehouse-c<n>` parts, each under the same one-value rule.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'cookie';
import { SessionCookie } from '../../src/cookies/session-cookie.js';
import { isWellFormedToken, sessionIdFromToken } from '../../src/session/token.js';
import { createMemoryStore } from '../../src/backends/stores/memory.js';
import type { SessionStore } from '../../src/session/model.js';
import { listen, rawRequest } from '../proxy/setup.js';
import { login, PASSWORD, sessionCookieFrom, testClock, testGateway, type TestGateway } from '../helpers/gateway.js';
import { SESSION_MODES, type SessionMode, sealedForgeries, sessionValueOf, withMode } from '../helpers/session-modes.js';

const NAME = '__Host-gatehouse';
const MINUTE = 60_000;

/** cookie mode's default `session.cookie.maxBytes`: what compose/sessions.ts gives the SessionCookie. */
const MAX_BYTES = 8192;
/** 60 roles of 64 characters: claims that seal to more than one cookie's 4096 bytes (two parts). */
const MANY_ROLES = Array.from({ length: 60 }, (_, i) => `role-${String(i).padStart(2, '0')}-${'r'.repeat(55)}`);

/**
 * The read path of one mode: the gateway's own session manager over a real memory store, watched
 * (not replaced), and the session cookie as compose/sessions.ts configures it for that mode.
 */
interface ReadPath {
  mode: SessionMode;
  gw: TestGateway;
  cookie: SessionCookie;
  /** Every id the path asked the store for. */
  looked: string[];
  /** Real sessions' cookie values, and the session id of each. */
  tokens: string[];
  ids: Map<string, string>;
  /** Cookie mode: the real values re-made without the key (sealedForgeries); server mode: none. */
  forgeries: string[];
  /** Cookie mode: two chunked sessions' `Cookie` pairs (`name=value`, base first). */
  chunked: string[][];
}

async function readPath(mode: SessionMode): Promise<ReadPath> {
  const clock = testClock();
  const store = createMemoryStore({ clock });
  const looked: string[] = [];
  const watched: SessionStore = {
    ...store,
    get: (id) => {
      looked.push(id);
      return store.get(id);
    },
  };
  const gw = await testGateway(withMode(mode), { store: watched, clock });
  const cookie = new SessionCookie(
    { name: NAME, sameSite: 'strict', secure: true, httpOnly: true, path: '/' },
    { maxBytes: mode === 'cookie' ? MAX_BYTES : undefined },
  );
  const create = (id: string, roles = ['user']) => gw.gatehouse.sessions.create({ user: { id, roles }, provider: 'local', client: {} });
  const tokens: string[] = [];
  const ids = new Map<string, string>();
  for (const id of ['alice', 'bob', 'carol']) {
    const created = await create(id);
    tokens.push(created.token);
    ids.set(created.token, created.record.id);
  }
  const forgeries = mode === 'cookie' ? (await Promise.all(tokens.map((t) => sealedForgeries(gw.gatehouse.keys, t)))).flatMap((f) => Object.values(f)) : [];
  const chunked: string[][] = [];
  if (mode === 'cookie') {
    for (const id of ['dave', 'erin']) {
      const created = await create(id, MANY_ROLES);
      const pairs = cookie.write(created.token, undefined).map((h) => h.split(';', 1)[0] as string);
      expect(pairs.map((p) => p.slice(0, p.indexOf('=')))).toEqual([NAME, `${NAME}-c1`, `${NAME}-c2`]);
      tokens.push(created.token);
      ids.set(created.token, created.record.id);
      chunked.push(pairs);
    }
  }
  looked.length = 0;
  return { mode, gw, cookie, looked, tokens, ids, forgeries, chunked };
}

/** Which real token, if any, the whole path resolves the header to. */
async function resolvedToken(path: ReadPath, header: string | undefined): Promise<string | undefined> {
  const record = await path.gw.gatehouse.sessions.resolve(path.cookie.read(header));
  return record ? path.tokens.find((t) => path.ids.get(t) === record.id) : undefined;
}

/** True when the header, read pair by pair, names our cookie or one of its parts at all (after the parser's trimming). */
const OURS = /^__Host-gatehouse(-c[1-9])?$/;
const namesOurs = (text: string) => text.split(';').some((pair) => Object.keys(parse(pair)).some((name) => OURS.test(name)));

/** The read path the generators below draw real values from: the mode whose suite is running. */
let current: ReadPath;

// --- generators --------------------------------------------------------------------------------

/** One of the three single-cookie sessions of the running mode (drawn when generated). */
const realToken = fc.integer({ min: 0, max: 2 }).map((i) => current.tokens[i] as string);
/** Cookie mode: a real session re-made without the key (sealedForgeries). */
const resealed = fc.nat().map((i) => current.forgeries[i % current.forgeries.length] as string);
/** Names a browser or a hostile client might send that are not ours, some of them close. */
const lookAlikeName = fc.constantFrom(
  '__host-gatehouse', '__HOST-gatehouse', '__Host-Gatehouse', '__Secure-gatehouse', 'gatehouse', '__Host-gatehous',
  '__Host-gatehouse-login', '__Host-gatehouse.', '__Host-gatehouse\u0000', '__Host-gatehousé', '"__Host-gatehouse"',
  '__Host-gatehouse%3D', '__Host%2Dgatehouse', '_Host-gatehouse', '__Host-gatehouse\u00a0', '__Ηost-gatehouse',
);
const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
const anyName = fc.oneof(lookAlikeName, fc.string({ unit: tokenChar, minLength: 1, maxLength: 20 }));
/** Values with no ";" (a ";" starts the next pair): printable, unicode, control characters, "=". */
const valueUnit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'ABCxyz019-_=."\\,%/ ') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== ';') },
);
const junkValue = fc.oneof(
  fc.string({ unit: valueUnit, maxLength: 60 }),
  fc.string({ unit: fc.constantFrom('A', 'b', '-', '_', '9'), minLength: 43, maxLength: 43 }), // forged, well-formed
  fc.nat({ max: 6000 }).map((n) => 'x'.repeat(n)), // huge
);
/** A real token, spelt so that it is not the real token: quoted, percent-encoded, cut, padded, cased. */
const disguisedToken = fc.tuple(realToken, fc.nat({ max: 42 }), fc.constantFrom('quote', 'percent', 'cut', 'pad', 'case', 'space-inside', 'tab-inside')).map(
  ([token, at, how]) => {
    switch (how) {
      case 'quote':
        return `"${token}"`;
      case 'percent':
        return `${token.slice(0, at)}%${token.charCodeAt(at).toString(16).toUpperCase()}${token.slice(at + 1)}`;
      case 'cut':
        return token.slice(0, at);
      case 'pad':
        return `${token}${'A'.repeat(at + 1)}`;
      case 'case': {
        const c = token.charAt(at);
        const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
        return flipped === c ? `${token}=` : token.slice(0, at) + flipped + token.slice(at + 1);
      }
      // Inside only: leading and trailing whitespace is not part of the value (RFC 6265bis §5.6).
      case 'space-inside':
        return `${token.slice(0, 1 + (at % 42))} ${token.slice(1 + (at % 42))}`;
      default:
        return `${token.slice(0, 1 + (at % 42))}\t${token.slice(1 + (at % 42))}`;
    }
  },
);
const separator = fc.constantFrom('; ', ';', ';;', ' ; ', ';\t', '; ; ');
const pair = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>) => fc.tuple(name, value).map(([n, v]) => `${n}=${v}`);
/** Pairs that are not ours, and pieces with no "=" at all (the parser skips them). */
const junkPiece = fc.oneof(
  { weight: 6, arbitrary: pair(anyName, junkValue) },
  { weight: 2, arbitrary: pair(lookAlikeName, realToken) }, // the real token under a name that is not ours
  { weight: 1, arbitrary: fc.string({ unit: valueUnit, maxLength: 20 }).filter((s) => !s.includes('=')) },
  { weight: 1, arbitrary: realToken.map((t) => `x=${NAME}=${t}`) }, // our pair inside another cookie's value
);
const join = (pieces: string[], seps: string[]) => pieces.map((p, i) => (i === 0 ? p : `${seps[i % seps.length]}${p}`)).join('');
const junkHeader = fc.tuple(fc.array(junkPiece, { maxLength: 12 }), fc.array(separator, { minLength: 1, maxLength: 4 })).map(([p, s]) => join(p, s));

describe.each(SESSION_MODES)('session cookie read path, session mode %s (property-based)', (mode) => {
  let path: ReadPath;
  beforeAll(async () => {
    path = current = await readPath(mode);
  });
  afterAll(async () => path?.gw.close());

  it('ASVS 5.0 V7.2.1 / RFC 6265bis §5.8.1: any Cookie header at all: no throw, and only well-formed tokens reach the store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), junkHeader, fc.constant(undefined)), async (header) => {
        path.looked.length = 0;
        const value = path.cookie.read(header);
        if (value !== undefined) {
          expect(value.length).toBeGreaterThan(0);
          // Server mode: a token is 43 characters, nothing past 256 is looked at. Cookie mode: the
          // sealed session within the cookie ceiling (session.cookie.maxBytes).
          expect(value.length).toBeLessThanOrEqual(mode === 'server' ? 256 : MAX_BYTES);
          expect(value).not.toContain(';');
        }
        const token = await resolvedToken(path, header);
        // A session only for the exact real token, and then only when read gave exactly it.
        if (token !== undefined) expect(value).toBe(token);
        if (mode === 'server') {
          // The store is asked about a well-formed token's hash or nothing: no lookup for junk.
          expect(path.looked).toEqual(value !== undefined && isWellFormedToken(value) ? [sessionIdFromToken(value)] : []);
        } else {
          // The cookie is the session: within revalidateEvery the store is asked nothing, junk or not.
          expect(path.looked).toEqual([]);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('ASVS 5.0 V7.2.3 / OWASP Session Management Cheat Sheet: forged, random, look-alike and disguised values never resolve to a session', async () => {
    const forgedValue = mode === 'server' ? fc.oneof(junkValue, disguisedToken) : fc.oneof(junkValue, disguisedToken, resealed);
    const forgedOurs = pair(fc.constant(NAME), forgedValue);
    await fc.assert(
      fc.asyncProperty(junkHeader, fc.option(forgedOurs, { nil: undefined }), fc.nat(), async (junk, ours, at) => {
        const pieces = junk.split('; ');
        if (ours !== undefined) pieces.splice(at % (pieces.length + 1), 0, ours);
        const header = pieces.join('; ');
        expect(await resolvedToken(path, header)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('RFC 6265bis §5.8.3: a real token is found wherever it sits among junk cookies, also when sent twice with the same value', async () => {
    await fc.assert(
      fc.asyncProperty(
        junkHeader.filter((h) => !namesOurs(h)),
        realToken,
        fc.nat(),
        fc.boolean(),
        fc.constantFrom('; ', ';', ' ; '),
        async (junk, token, at, twice, sep) => {
          const pieces = junk === '' ? [] : [junk];
          pieces.splice(at % (pieces.length + 1), 0, `${NAME}=${token}`);
          if (twice) pieces.push(`${NAME}=${token}`);
          expect(await resolvedToken(path, pieces.join(sep))).toBe(token);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('RFC 6265bis §8.6 / OWASP Session Management Cheat Sheet (fixation): two different values of the session cookie mean no session, in either order', async () => {
    const otherValue = mode === 'server' ? fc.oneof(realToken, junkValue.filter((v) => v.trim() !== ''), disguisedToken) : fc.oneof(realToken, junkValue.filter((v) => v.trim() !== ''), disguisedToken, resealed);
    await fc.assert(
      fc.asyncProperty(
        junkHeader.filter((h) => !namesOurs(h)),
        realToken,
        otherValue,
        fc.boolean(),
        async (junk, token, other, otherFirst) => {
          fc.pre(other.trim() !== token);
          const ours = [`${NAME}=${token}`, `${NAME}=${other}`];
          if (otherFirst) ours.reverse();
          const header = [ours[0], junk, ours[1]].filter((p) => p !== '').join('; ');
          expect(path.cookie.read(header)).toBeUndefined();
          expect(await resolvedToken(path, header)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  // Chunks exist only in cookie mode: a server-mode cookie is one 43-character token.
  it.skipIf(mode !== 'cookie')('RFC 6265bis §5.8.3 / §8.6: a chunked session is found with its parts in any order among junk; a part missing, sent twice with another value, or taken from another session means no session', async () => {
    const chunkedSession = fc.integer({ min: 0, max: 1 });
    const tamper = fc.constantFrom('none', 'drop', 'conflict', 'swap');
    await fc.assert(
      fc.asyncProperty(
        junkHeader.filter((h) => !namesOurs(h)),
        chunkedSession,
        tamper,
        fc.nat({ max: 2 }),
        fc.oneof(junkValue.filter((v) => v.trim() !== ''), realToken, resealed),
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        async (junk, which, how, part, otherValue, order) => {
          const mine = path.chunked[which] as string[];
          const theirs = path.chunked[1 - which] as string[];
          const token = path.tokens[3 + which] as string;
          let pieces = [...mine];
          if (how === 'drop') pieces.splice(part, 1);
          if (how === 'conflict') pieces.push(`${(mine[part] as string).split('=', 1)[0]}=${otherValue}`);
          // The same part of another live session (same name, same size): each half is genuine.
          if (how === 'swap' && part > 0) pieces[part] = theirs[part] as string;
          if (how === 'swap' && part === 0) pieces = [mine[0] as string, theirs[1] as string, mine[2] as string];
          // Browsers send cookies in their own order (RFC 6265bis §5.8.3): any order, junk between.
          pieces = pieces.map((p, i) => [order[i % 3] as number, p] as const).sort((x, y) => x[0] - y[0]).map(([, p]) => p);
          if (junk !== '') pieces.splice(part % (pieces.length + 1), 0, junk);
          const header = pieces.join('; ');
          const conflicted = how === 'conflict' && `${(mine[part] as string).split('=', 1)[0]}=${otherValue}` === mine[part];
          const intact = how === 'none' || conflicted;
          expect(await resolvedToken(path, header)).toBe(intact ? token : undefined);
          if (how === 'drop' || (how === 'conflict' && !conflicted)) expect(path.cookie.read(header)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.each(SESSION_MODES)('session cookie read path over a real socket, session mode %s (property-based)', (mode) => {
  let gw: TestGateway;
  let origin = '';
  /** The real session's `Cookie` pairs: one in server mode; in cookie mode a session large enough to be split. */
  let real: string[] = [];
  let user = '';
  /** A value of the base cookie that must conflict with the real one: a random token, or a session sealed under another key. */
  let conflicting = '';

  beforeAll(async () => {
    gw = await testGateway(withMode(mode));
    user = mode === 'server' ? 'alice' : 'carol';
    if (mode === 'cookie') await gw.gatehouse.local?.accounts.add({ username: 'carol', password: PASSWORD, name: 'Carol', roles: MANY_ROLES });
    const cookie = await login(gw, user);
    real = cookie.split('; ');
    expect(real.length).toBe(mode === 'server' ? 1 : 3);
    conflicting = mode === 'server' ? 'A'.repeat(43) : (await sealedForgeries(gw.gatehouse.keys, sessionValueOf(cookie)))["another deployment's key under our kid"] as string;
    origin = await listen(gw);
  });
  afterAll(async () => gw?.close());

  const sessionOver = (header: string) => rawRequest(origin, '/auth/session', [['Cookie', header], ['Accept', 'application/json']]);
  /** What may travel in a header line: no CR, LF or NUL (those are another attack: request splitting). */
  const lineSafe = (h: string) => !/[\r\n\u0000]/.test(h);

  it('ASVS 5.0 V7.2.1: junk Cookie headers get 401 unauthenticated (or 400/431 from the HTTP parser), never a session', async () => {
    await fc.assert(
      fc.asyncProperty(junkHeader.filter(lineSafe), async (header) => {
        const res = await sessionOver(header);
        // 431: over Node's 16 KiB header limit, refused before any code of ours runs.
        expect([400, 401, 431], res.body.slice(0, 200)).toContain(res.status);
        if (res.status === 401) expect(JSON.parse(res.body)).toMatchObject({ error: 'unauthenticated' });
        expect(res.body).not.toContain(user);
      }),
      { numRuns: 60 },
    );
  });

  it('RFC 6265bis §5.8.3: the real cookie among junk is found over HTTP; a conflicting second value is refused', async () => {
    await fc.assert(
      fc.asyncProperty(junkHeader.filter(lineSafe).filter((h) => !namesOurs(h)), fc.boolean(), fc.nat(), async (junk, conflict, at) => {
        const pieces = [...real];
        pieces.splice(at % (pieces.length + 1), 0, junk);
        if (conflict) pieces.push(`${NAME}=${conflicting}`);
        const res = await sessionOver(pieces.filter((p) => p !== '').join('; '));
        if (res.status === 400 || res.status === 431) return; // the HTTP parser refused the header itself
        expect(res.status, res.body).toBe(conflict ? 401 : 200);
        if (!conflict) expect(JSON.parse(res.body)).toMatchObject({ user: { username: user } });
      }),
      { numRuns: 40 },
    );
  });
});
