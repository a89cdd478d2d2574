// Property-based: whatever path a client sends (any Unicode, any percent-encoding, look-alike
// dots and slashes mixed with ASCII ones), checkProxyPath never crashes and never accepts a path
// whose decoded NFKC form (UAX #15, what a normalising upstream reads) has a dot segment, a
// separator, a path parameter, a percent sign or a query/fragment delimiter that the raw path did
// not have. Checked on the function (many runs) and through a real gateway (fewer runs).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProxyPath } from '../../src/proxy/path.js';
import { listen, type ProxyFixture, proxyFixture, rawRequest } from '../proxy/setup.js';

/** Fixed, so a run is reproducible (house rule: deterministic tests); FC_SEED=<n> explores other inputs. */
const seed = Number(process.env.FC_SEED ?? 20260111);
const PREFIX = '/api/open';

/** Characters that matter: ASCII structure, look-alikes, fullwidth letters and digits, and ordinary text. */
const INTERESTING = [
  ...'aZ09-_~.;%/\\?#:',
  '\uff0e', '\u2024', '\u2025', '\u2026', '\ufe52', '\u3002', '\uff61', // dots
  '\uff0f', '\uff3c', '\ufe68', '\u2044', '\u2215', '\u2216', '\u29f8', '\u00a5', '\u2100', '\u2101', // slashes
  '\uff05', '\uff1b', '\uff1f', '\uff03', '\uff1a', '\ufe6a', // % ; ? # :
  '\uff12', '\uff45', '\uff46', '\uff43', '\uff10', // fullwidth 2 e f c 0 (for "％２ｅ")
  '\u00e9', '\u65e5', '\u00bd', '\u2488', '\u0338', '\ud83d\ude00', // text, ½ "1⁄2", ⒈ "1.", combining overlay, emoji
];

/** One segment, encoded the way an attacker likes: plain, percent-encoded, or a mix. */
const segment = fc
  .tuple(
    fc.oneof(fc.string({ unit: fc.constantFrom(...INTERESTING), maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })),
    fc.constantFrom('encode', 'encode-all', 'raw-ascii'),
  )
  .map(([text, how]) => {
    if (how === 'encode') return encodeURIComponent(text);
    if (how === 'encode-all') return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    // ASCII left as typed (a "." or "%" reaches the parser as such); non-ASCII encoded.
    return [...text].map((c) => (c.charCodeAt(0) < 0x80 ? c : encodeURIComponent(c))).join('');
  });

/** Percent sequences at random, overlong and truncated ones included. */
const percentJunk = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 }).map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));

const path = fc.array(fc.oneof(segment, percentJunk), { minLength: 1, maxLength: 5 }).map((segments) => `${PREFIX}/${segments.join('/')}`);

const STRUCTURE = /[./\\;%?#:]/g;

/** The oracle: what an NFKC-normalising upstream would read, segment by segment. */
function nfkcProblems(rest: string): string | undefined {
  const raw = rest.split('/').slice(1);
  for (const seg of raw) {
    const decoded = decodeURIComponent(seg); // throws for accepted malformed input: a failure too
    const folded = decoded.normalize('NFKC');
    const name = folded.split(';', 1)[0];
    if (name === '.' || name === '..') return `dot segment ${JSON.stringify(seg)}`;
    if (folded.includes('/') || folded.includes('\\')) return `separator in ${JSON.stringify(seg)}`;
    if ((folded.match(STRUCTURE) ?? []).join('') !== (decoded.match(STRUCTURE) ?? []).join('')) return `structure changed in ${JSON.stringify(seg)}`;
    if (/%(2e|2f|5c|00)/i.test(folded)) return `double encoding in ${JSON.stringify(seg)}`;
  }
  return undefined;
}

describe('proxy path normaliser (property-based, OWASP ASVS 5.0 V1.1.1)', () => {
  it('OWASP ASVS 5.0 V1.1.1: no crash, and an accepted path has no dot segment, separator or structure its NFKC form would add', () => {
    fc.assert(
      fc.property(fc.oneof(path, fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `${PREFIX}/${s}`)), (url) => {
        const checked = checkProxyPath(url, PREFIX);
        if (!checked.ok) return;
        expect(url.startsWith(PREFIX)).toBe(true);
        expect(checked.rest).toBe(url.slice(PREFIX.length).split('?', 1)[0]);
        expect(checked.rest, 'a request target is ASCII').toMatch(/^[\x21-\x7e]*$/);
        expect(nfkcProblems(checked.rest), url).toBeUndefined();
      }),
      { numRuns: 5000, seed },
    );
  });

  it('OWASP ASVS 5.0 V1.1.1: paths of ordinary segments (unreserved characters, percent-encoded text without look-alikes) are accepted', () => {
    const plain = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_~\u00e9\u65e5'), minLength: 1, maxLength: 8 }).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(plain, { minLength: 1, maxLength: 4 }), (segments) => {
        const url = `${PREFIX}/${segments.map(encodeURIComponent).join('/')}`;
        expect(checkProxyPath(url, PREFIX).ok, url).toBe(true);
      }),
      { numRuns: 500, seed },
    );
  });
});

describe('proxy path normaliser through a real gateway (property-based, OWASP ASVS 5.0 V1.1.1)', () => {
  let f: ProxyFixture;
  let origin: string;
  beforeAll(async () => {
    f = await proxyFixture();
    origin = await listen(f.gw);
  });
  afterAll(() => f.close());

  it('OWASP ASVS 5.0 V1.1.1: a look-alike path is refused with 400 before any upstream; an accepted one reaches it byte for byte and passes the NFKC oracle', async () => {
    await fc.assert(
      fc.asyncProperty(path, async (url) => {
        const [echoBefore, unlistedBefore] = [f.echo.seen.length, f.unlisted.seen.length];
        const res = await rawRequest(origin, url);
        const seen = f.echo.seen.slice(echoBefore);
        expect(f.unlisted.seen.length, 'the unlisted upstream is never reached').toBe(unlistedBefore);
        if (res.status === 400) {
          expect(['path_rejected', 'invalid_request']).toContain(JSON.parse(res.body).error);
          expect(seen, 'no upstream reached').toEqual([]);
          return;
        }
        expect(res.status, res.body).toBe(200);
        // Anything else is a forward: exactly the raw bytes after the prefix, on the base path.
        expect(seen.map((s) => s.path)).toEqual([`/base${url.slice(PREFIX.length)}`]);
        expect(nfkcProblems(url.slice(PREFIX.length).split('?', 1)[0] as string), url).toBeUndefined();
      }),
      { numRuns: 60, seed },
    );
  });
});
