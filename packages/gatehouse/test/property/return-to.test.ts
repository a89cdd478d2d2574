// Property-based: whatever a login link carries as `returnTo`, the value Gatehouse redirects to
// after sign-in is a path that a browser resolves against the public origin to the public origin
// itself — never another host (an open redirect after login: RFC 9700 §4.11.1, OWASP ASVS 5.0
// V3.7.2, OWASP Unvalidated Redirects and Forwards Cheat Sheet), and never a value that could split
// or smuggle a Location header (no control characters, only printable ASCII).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../src/http/return-to.js';

const ORIGINS = ['https://app.example.com', 'https://localhost:8443', 'http://127.0.0.1:3000'] as const;

/**
 * Pieces known to confuse URL parsers and validators: slashes and backslashes, their percent and
 * Unicode look-alikes (fullwidth solidus U+FF0F, fraction slash U+2044, one-dot leader U+2024,
 * fullwidth full stop U+FF0E), dot segments, schemes, userinfo, and the characters that the URL
 * parser strips (tab, newline) or that end a header line.
 */
const PIECES = [
  '/', '//', '\\', '/\\', '\\/', '///', '/./', '/../', '/.//', '/%2e//', '/%2E%2E//', '/..%2f', '/%2f', '/%2F', '/%5c',
  '/%5C', '%2f%2f', '.', '..', '%2e', '%2e%2e', '%252f', '%00', '%0d%0a', '\t', '\n', '\r', '\u0000', '\u007f', ' ',
  '\u00a0', '\u2028', '／', '＼', '⁄', '․', '．', '%ef%bc%8f', '%e2%81%84', 'evil.example', 'evil.example:443', '@', 'user:pass@',
  'javascript:', 'JaVaScRiPt:', 'data:', 'https:', 'https://evil.example', 'http:', ':', '?', '#', '&', '=', 'a', 'b/c', '~',
  'ﬀ', 'é', '😀', '\ud800', '<', '>', '"', "'", '`', '{', '}', '|', '^',
];

const tricky = fc.array(fc.constantFrom(...PIECES), { maxLength: 10 }).map((parts) => parts.join(''));
/** Mostly starting with "/" (the shape that gets past the first checks), to reach the later ones. */
const candidate = fc.oneof(
  { weight: 4, arbitrary: tricky.map((s) => `/${s}`) },
  { weight: 2, arbitrary: tricky },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `/${s}`) },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);
const anyValue = fc.oneof({ weight: 8, arbitrary: candidate }, { weight: 1, arbitrary: fc.anything() });

describe('returnTo validation (property-based)', () => {
  it.each(ORIGINS)('ASVS 5.0 V3.7.2 / RFC 9700 §4.11.1: on %s, any returnTo resolves to the public origin, as printable ASCII', (origin) => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const result = safeReturnTo(value, origin);
        expect(result.startsWith('/')).toBe(true);
        // What the browser does with the Location header: resolve it against the page's URL.
        expect(new URL(result, `${origin}/auth/callback/demo?code=x`).origin).toBe(origin);
        // No control characters, no spaces, nothing outside ASCII: nothing a header could split on,
        // nothing the URL parser would strip or re-encode on the way (WHATWG URL "remove tab or newline").
        expect(result).toMatch(/^[\x21-\x7e]+$/);
        // A network-path reference, however spelt, is another host.
        expect(result).not.toMatch(/^[/\\]{2}/);
      }),
      { numRuns: 1000 },
    );
  });

  it.each(ORIGINS)('RFC 3986 §5.2: on %s, an accepted returnTo round-trips (checking it again changes nothing)', (origin) => {
    fc.assert(
      fc.property(candidate, (value) => {
        const result = safeReturnTo(value, origin);
        expect(safeReturnTo(result, origin)).toBe(result);
        const url = new URL(result, origin);
        expect(`${url.pathname}${url.search}${url.hash}`).toBe(result);
      }),
      { numRuns: 500 },
    );
  });

  it('RFC 9700 §4.11.1: same-origin paths are kept as the browser would normalise them', () => {
    fc.assert(
      fc.property(fc.webPath(), fc.webQueryParameters(), fc.webFragments(), (path, query, fragment) => {
        const value = `/${path.replace(/^\/+/, '')}${query ? `?${query}` : ''}${fragment ? `#${fragment}` : ''}`;
        const url = new URL(value, ORIGINS[0]);
        const normalised = `${url.pathname}${url.search}${url.hash}`;
        // Kept exactly, unless normalising it would make it a network-path reference (then "/").
        expect(safeReturnTo(value, ORIGINS[0])).toBe(normalised.startsWith('//') ? '/' : normalised);
      }),
      { numRuns: 500 },
    );
  });

  it('RFC 9700 §4.11.1: the known open-redirect spellings all fall back to "/"', () => {
    const attacks = [
      '//evil.example', '/\\evil.example', '\\\\evil.example', '/\t/evil.example', '/\n/evil.example', '/.//evil.example',
      '/%2e//evil.example', '/a/..//evil.example', '/%2e%2e//evil.example', 'https://evil.example', 'javascript:alert(1)',
      ' /x', '/x\r\nSet-Cookie: a=b', 'https://app.example.com@evil.example', '///evil.example', '/\u0000/evil.example',
    ];
    for (const value of attacks) expect(safeReturnTo(value, ORIGINS[0]), JSON.stringify(value)).toBe('/');
    // Encoded or look-alike slashes stay inside the path: same origin, kept as the browser encodes them.
    expect(safeReturnTo('/%2f/evil.example', ORIGINS[0])).toBe('/%2f/evil.example');
    expect(safeReturnTo('/／evil.example', ORIGINS[0])).toBe('/%EF%BC%8Fevil.example');
  });
});
