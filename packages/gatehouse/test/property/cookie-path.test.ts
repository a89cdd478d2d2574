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
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'cookie';
import { SessionCookie } from '../../src/cookies/session-cookie.js';
import { SessionManager } from '../../src/session/manager.js';
import { isWellFormedToken, sessionIdFromToken } from '../../src/session/token.js';
import { createMemoryStore } from '../../src/backends/stores/memory.js';
import type { SessionStore } from '../../src/session/model.js';
import { listen, rawRequest } from '../proxy/setup.js';
import { login, testClock, testGateway, type TestGateway } from '../helpers/gateway.js';

const NAME = '__Host-gatehouse';
const MINUTE = 60_000;

const cookie = new SessionCookie({ name: NAME, sameSite: 'strict', secure: true, httpOnly: true, path: '/' });
const clock = testClock();
const store = createMemoryStore({ clock });
/** Every id the path asked the store for: a real store, watched, not replaced. */
const looked: string[] = [];
const watched: SessionStore = {
  ...store,
  get: (id) => {
    looked.push(id);
    return store.get(id);
  },
};
const sessions = new SessionManager({ store: watched, clock, idleTimeout: 30 * MINUTE, absoluteTimeout: 12 * 60 * MINUTE });
/** Real sessions' tokens, filled in beforeAll. */
const tokens: string[] = [];

beforeAll(async () => {
  for (const id of ['alice', 'bob', 'carol']) {
    const created = await sessions.create({ user: { id, roles: ['user'] }, provider: 'local', client: {} });
    tokens.push(created.token);
  }
});

/** Which real token, if any, the whole path resolves the header to. */
async function resolvedToken(header: string | undefined): Promise<string | undefined> {
  const record = await sessions.resolve(cookie.read(header));
  return record ? tokens.find((t) => sessionIdFromToken(t) === record.id) : undefined;
}

/** True when the header, read pair by pair, names our cookie at all (after the parser's trimming). */
const namesOurs = (text: string) => text.split(';').some((pair) => parse(pair)[NAME] !== undefined);

// --- generators --------------------------------------------------------------------------------

const realToken = fc.integer({ min: 0, max: 2 }).map((i) => tokens[i] as string);
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

describe('session cookie read path (property-based)', () => {
  it('ASVS 5.0 V7.2.1 / RFC 6265bis §5.8.1: any Cookie header at all: no throw, and only well-formed tokens reach the store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), junkHeader, fc.constant(undefined)), async (header) => {
        looked.length = 0;
        const value = cookie.read(header);
        if (value !== undefined) {
          expect(value.length).toBeGreaterThan(0);
          expect(value.length).toBeLessThanOrEqual(256);
          expect(value).not.toContain(';');
        }
        const token = await resolvedToken(header);
        // A session only for the exact real token, and then only when read gave exactly it.
        if (token !== undefined) expect(value).toBe(token);
        // The store is asked about a well-formed token's hash or nothing: no lookup for junk.
        expect(looked).toEqual(value !== undefined && isWellFormedToken(value) ? [sessionIdFromToken(value)] : []);
      }),
      { numRuns: 1000 },
    );
  });

  it('ASVS 5.0 V7.2.3 / OWASP Session Management Cheat Sheet: forged, random, look-alike and disguised values never resolve to a session', async () => {
    const forgedOurs = pair(fc.constant(NAME), fc.oneof(junkValue, disguisedToken));
    await fc.assert(
      fc.asyncProperty(junkHeader, fc.option(forgedOurs, { nil: undefined }), fc.nat(), async (junk, ours, at) => {
        const pieces = junk.split('; ');
        if (ours !== undefined) pieces.splice(at % (pieces.length + 1), 0, ours);
        const header = pieces.join('; ');
        expect(await resolvedToken(header)).toBeUndefined();
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
          expect(await resolvedToken(pieces.join(sep))).toBe(token);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('RFC 6265bis §8.6 / OWASP Session Management Cheat Sheet (fixation): two different values of the session cookie mean no session, in either order', async () => {
    await fc.assert(
      fc.asyncProperty(
        junkHeader.filter((h) => !namesOurs(h)),
        realToken,
        fc.oneof(realToken, junkValue.filter((v) => v.trim() !== ''), disguisedToken),
        fc.boolean(),
        async (junk, token, other, otherFirst) => {
          fc.pre(other.trim() !== token);
          const ours = [`${NAME}=${token}`, `${NAME}=${other}`];
          if (otherFirst) ours.reverse();
          const header = [ours[0], junk, ours[1]].filter((p) => p !== '').join('; ');
          expect(cookie.read(header)).toBeUndefined();
          expect(await resolvedToken(header)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('session cookie read path over a real socket (property-based)', () => {
  let gw: TestGateway;
  let origin = '';
  let real = '';

  beforeAll(async () => {
    gw = await testGateway();
    real = (await login(gw)).slice(`${NAME}=`.length);
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
        expect(res.body).not.toContain('alice');
      }),
      { numRuns: 60 },
    );
  });

  it('RFC 6265bis §5.8.3: the real cookie among junk is found over HTTP; a conflicting second value is refused', async () => {
    await fc.assert(
      fc.asyncProperty(junkHeader.filter(lineSafe).filter((h) => !namesOurs(h)), fc.boolean(), async (junk, conflict) => {
        const pieces = [junk, `${NAME}=${real}`, ...(conflict ? [`${NAME}=${'A'.repeat(43)}`] : [])].filter((p) => p !== '');
        const res = await sessionOver(pieces.join('; '));
        if (res.status === 400 || res.status === 431) return; // the HTTP parser refused the header itself
        expect(res.status, res.body).toBe(conflict ? 401 : 200);
        if (!conflict) expect(JSON.parse(res.body)).toMatchObject({ user: { username: 'alice' } });
      }),
      { numRuns: 40 },
    );
  });
});
