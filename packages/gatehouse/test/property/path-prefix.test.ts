// Property-based: the one "is this path under that prefix" rule (src/util/path-prefix.ts) never
// throws, respects segment boundaries, and — with `alsoDecoded` — catches every percent-encoded
// spelling of a reserved prefix (OWASP ASVS 5.0 V1.1.1: decode once before deciding), so no
// spelling of /auth or /api reaches the SPA fallback or the dev server.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUnderAnyPrefix, isUnderPrefix, pathAfterPrefix } from '../../src/util/path-prefix.js';

/** Characters a config path may hold (the `urlPath` rule in config/schema.ts), "/" aside. */
const SEGMENT_CHARS = "ABCXYZabcxyz0189._~!$&'()*+,;=:@-".split('');
const segment = fc.array(fc.constantFrom(...SEGMENT_CHARS), { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''));
/** A configured prefix: "/" or "/a/b" (config refuses a trailing slash). */
const prefix = fc.oneof(
  { weight: 1, arbitrary: fc.constant('/') },
  { weight: 6, arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`) },
);
/** Anything a client may send as a path, tricky pieces included. */
const PIECES = ['/', '//', '%', '%2f', '%2F', '%25', '%zz', '%c0%ae', '%e0%80', '.', '..', '\\', 'x', 'api', '?', '#', 'é', '\u0000', '%00'];
const anyPath = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.oneof(fc.constantFrom(...PIECES), segment), { maxLength: 10 }).map((p) => p.join('')),
);

/** Percent-encodes a random subset of the characters of `text` (upper or lower case hex). */
function encodeSome(text: string, mask: readonly boolean[], upper: boolean): string {
  return [...text]
    .map((ch, i) => {
      if (!mask[i % Math.max(mask.length, 1)]) return ch;
      const hex = Array.from(new TextEncoder().encode(ch), (b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      return upper ? hex.toUpperCase() : hex;
    })
    .join('');
}

describe('path prefix rule (property-based)', () => {
  it('never throws, for any path and prefix, raw or decoded', () => {
    fc.assert(
      fc.property(anyPath, fc.oneof(prefix, anyPath), (path, p) => {
        expect(typeof isUnderPrefix(path, p)).toBe('boolean');
        expect(typeof isUnderAnyPrefix(path, [p], { alsoDecoded: true })).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('p + "/" + x is always under p, and the remainder is "/" + x below it', () => {
    fc.assert(
      fc.property(prefix, anyPath, (p, x) => {
        expect(isUnderPrefix(`${p}/${x}`, p)).toBe(true);
        expect(isUnderPrefix(p, p)).toBe(true);
        if (p !== '/') expect(pathAfterPrefix(`${p}/${x}`, p)).toBe(`/${x}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('p + "x" (no slash) is never under p, unless p is "/"', () => {
    fc.assert(
      fc.property(prefix, fc.string({ minLength: 1, maxLength: 10 }).filter((x) => !x.startsWith('/')), (p, x) => {
        expect(isUnderPrefix(`${p}${x}`, p)).toBe(p === '/');
        expect(isUnderAnyPrefix(`${p}${x}`, [p])).toBe(p === '/');
      }),
      { numRuns: 2000 },
    );
  });

  it('OWASP ASVS 5.0 V1.1.1: an encoded spelling of a reserved prefix (and below it) is always caught by the decoded check', () => {
    fc.assert(
      fc.property(prefix, fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), fc.boolean(), fc.option(segment), (p, mask, upper, below) => {
        const reserved = below === null ? p : `${p}/${below}`;
        const spelled = encodeSome(reserved, mask, upper);
        expect(isUnderAnyPrefix(spelled, ['/healthz', p], { alsoDecoded: true }), spelled).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('the decoded check never says "not reserved" for a path the raw check reserves', () => {
    fc.assert(
      fc.property(anyPath, fc.array(prefix, { maxLength: 4 }), (path, prefixes) => {
        if (isUnderAnyPrefix(path, prefixes)) expect(isUnderAnyPrefix(path, prefixes, { alsoDecoded: true })).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
