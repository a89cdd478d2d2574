// Property-based: the configuration loader (resolveConfig: GATEHOUSE_* overrides → schema →
// unsafe combinations → paths → frozen). Whatever the file or the environment holds, the loader
// either returns a deeply frozen configuration or throws the typed ConfigError — never a
// TypeError, never a silent accept of an unknown key — and every problem names the key it is
// about, so `gatehouse config check` can point at it (fastify's initial-config validation; OWASP
// ASVS 5.0 V2.2.1: positive validation against an allowlist; V16.5.3: fail securely).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { envName } from '../../src/config/env.js';
import { childSchema, formatKey, objectKeys, type PathSegment, schemaAt } from '../../src/config/keys.js';
import { resolveConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigError, type ConfigProblem } from '../../src/errors.js';
import { BASE_DIR, MINIMUM } from '../config/helpers.js';

type Outcome = { accepted: unknown } | { problems: readonly ConfigProblem[] };

/** Accepted, or the ConfigError's problems. Anything else thrown fails the property. */
function load(input: unknown, env: Record<string, string | undefined> = {}): Outcome {
  try {
    return { accepted: resolveConfig(input, { baseDir: BASE_DIR, env }) };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

/** Every key the schema has, as paths (array elements as index 0), to a bounded depth. */
function schemaPaths(schema: z.ZodType, prefix: PathSegment[] = [], depth = 0): PathSegment[][] {
  if (depth > 5) return [];
  const paths: PathSegment[][] = [];
  for (const key of objectKeys(schema)) {
    const child = childSchema(schema, key);
    if (!child) continue;
    paths.push([...prefix, key], ...schemaPaths(child, [...prefix, key], depth + 1));
  }
  const element = childSchema(schema, 0);
  if (element) paths.push([...prefix, 0], ...schemaPaths(element, [...prefix, 0], depth + 1));
  return paths;
}

const PATHS = schemaPaths(configSchema);

/** A copy of `input` with `value` at `path` (containers created on the way), as JSON.parse would build it. */
function setAt(input: unknown, path: readonly PathSegment[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const container = (
    typeof head === 'number'
      ? Array.isArray(input)
        ? [...input]
        : []
      : typeof input === 'object' && input !== null && !Array.isArray(input)
        ? { ...input }
        : {}
  ) as Record<PropertyKey, unknown>;
  // defineProperty, not assignment: a "__proto__" key must be an own key, as in parsed JSON.
  Object.defineProperty(container, head, { value: setAt(container[head], rest, value), enumerable: true, writable: true, configurable: true });
  return container;
}

/** Values that break loaders: wrong types, extremes, negative and malformed durations, odd strings. */
const weird = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    -1, -0, 0, 0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 65536, 1e21,
    '', ' ', '-5m', '0s', '0', '-0s', '1e9d', '99999999999999999999h', '5 m', '5mm', '5', 'NaNs', 'Infinityh', '401d', '1.5h',
    'memory', 'sqlite:', 'redis://', 'postgres://', 'http://', 'https://', 'javascript:alert(1)', '//evil.example', '*', 'none',
    '\u0000', 'é', '😀', '\ud800', '__proto__', 'constructor', 'x'.repeat(10_000), true, false, null, [], {}, [null], { '': 1 },
  ),
);
/** Names for keys the schema does not have, some close to real ones (typos), some prototype-ish. */
const unknownKeyName = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ_-0123456789'), minLength: 1, maxLength: 14 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', 'publicorigin', 'idletimeout', 'samesite', 'secure ', ' path', 'Path', 'cookies', 'store2', '0', ''),
);

/** The key a problem names, parsed back to a path ("static[0].root" → ["static", 0, "root"]; `redis[" a.b "]` → ["redis", " a.b "]). */
function parseKey(key: string): PathSegment[] {
  return [...key.matchAll(/\[("(?:[^"\\]|\\.)*")\]|\[(\d+)\]|([^.[\]]+)/g)].map((m) =>
    m[1] !== undefined ? (JSON.parse(m[1]) as string) : m[2] !== undefined ? Number(m[2]) : (m[3] as string),
  );
}

describe('config loader (property-based)', () => {
  it('ASVS 5.0 V16.5.3: any value at all as the configuration: frozen and accepted, or ConfigError; never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 3 }), fc.object({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 })), (input) => {
        const outcome = load(input);
        if ('accepted' in outcome) {
          expect(deeplyFrozen(outcome.accepted)).toBe(true);
          return;
        }
        expect(outcome.problems.length).toBeGreaterThan(0);
        for (const problem of outcome.problems) {
          expect(typeof problem.key).toBe('string');
          expect(problem.message.trim()).not.toBe('');
          // Only a configuration that is not an object at all is reported at the root ("" names it;
          // an unknown key "" is written [""]).
          if (typeof input === 'object' && input !== null && !Array.isArray(input)) expect(problem.key, problem.message).not.toBe('');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('ASVS 5.0 V2.2.1: a valid configuration with any key set to a wrong, extreme or malformed value: accepted or ConfigError, each problem naming a real key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS), weird, (path, value) => {
        const outcome = load(setAt(MINIMUM, path, value));
        if ('accepted' in outcome) {
          expect(deeplyFrozen(outcome.accepted)).toBe(true);
          return;
        }
        for (const problem of outcome.problems) {
          expect(problem.key, problem.message).not.toBe('');
          expect(problem.message.trim()).not.toBe('');
          // The key is one the schema knows (or an unknown key whose parent it knows).
          const parsed = parseKey(problem.key);
          expect(schemaAt(configSchema, parsed.slice(0, -1)), `${problem.key}: ${problem.message}`).toBeDefined();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('ASVS 5.0 V2.2.1 (allowlist) / fastify initial-config validation: an unknown key anywhere is never accepted, and is reported by its full key', () => {
    // Every object in the schema, as the parent of the unknown key.
    const parents: PathSegment[][] = [[], ...PATHS.filter((p) => objectKeys(schemaAt(configSchema, p) as z.ZodType).length > 0)];
    fc.assert(
      fc.property(fc.constantFrom(...parents), unknownKeyName, (parent, name) => {
        const parentSchema = schemaAt(configSchema, parent) as z.ZodType;
        fc.pre(!objectKeys(parentSchema).includes(name));
        const outcome = load(setAt(MINIMUM, [...parent, name], 'unexpected'));
        expect('problems' in outcome, `${formatKey([...parent, name])} was accepted`).toBe(true);
        if (!('problems' in outcome)) return;
        const keys = outcome.problems.map((p) => p.key);
        // The unknown key itself; or, inside a union ("listen.tls": a string, false, or {cert, key}),
        // the union's key with the shapes it accepts.
        const named = keys.includes(formatKey([...parent, name])) || (parent.length > 0 && keys.includes(formatKey(parent)));
        expect(named, JSON.stringify(outcome.problems)).toBe(true);
      }),
      { numRuns: 250 },
    );
  });

  it('ASVS 5.0 V2.2.1 (allowlist): an unknown key next to valid ones is reported exactly by its key', () => {
    // Sections MINIMUM already has, so the only problem is the unknown key.
    const sections: PathSegment[][] = [[], ['listen'], ['session'], ['session', 'cookie'], ['spa'], ['static', 0], ['local']];
    fc.assert(
      fc.property(fc.constantFrom(...sections), unknownKeyName, (parent, name) => {
        fc.pre(!objectKeys(schemaAt(configSchema, parent) as z.ZodType).includes(name));
        const outcome = load(setAt(MINIMUM, [...parent, name], 1));
        expect('problems' in outcome).toBe(true);
        if (!('problems' in outcome)) return;
        expect(outcome.problems.map((p) => p.key)).toEqual([formatKey([...parent, name])]);
        expect(outcome.problems[0]?.message).toMatch(/^unknown key/);
      }),
      { numRuns: 250 },
    );
  });

  it('ASVS 5.0 V16.5.3: arbitrary GATEHOUSE_* variables with arbitrary values: accepted or ConfigError naming the variable or key', () => {
    const knownName = fc.constantFrom(...PATHS).map((path) => envName(path));
    const mangled = fc.tuple(knownName, fc.constantFrom('', '_', '__', '__0', '__99999999999999999999', '__X', '___', '__-1', '__0__', 'S', '__CONSTRUCTOR', '__PROTO__')).map(([n, s]) => n + s);
    const randomName = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789'), maxLength: 30 }).map((s) => `GATEHOUSE_${s}`);
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.constantFrom('', '-1', '1e309', '0', 'true', 'null', '[]', '{}', '{"__proto__":{"x":1}}', '"quoted"', '[1,', '-5m', '5m', 'x'.repeat(5000)),
    );
    const env = fc.dictionary(fc.oneof(knownName, mangled, randomName), text, { maxKeys: 4 });
    fc.assert(
      fc.property(env, (variables) => {
        const outcome = load(MINIMUM, variables);
        if ('accepted' in outcome) {
          expect(deeplyFrozen(outcome.accepted)).toBe(true);
          return;
        }
        for (const problem of outcome.problems) {
          expect(problem.key, problem.message).not.toBe('');
          expect(problem.message.trim()).not.toBe('');
          // A variable that names no key is reported by its own name; a bad value by its key, with the variable named.
          if (problem.key.startsWith('GATEHOUSE_')) expect(Object.keys(variables)).toContain(problem.key);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('ASVS 5.0 V2.2.1 (allowlist): a misspelt or unknown GATEHOUSE_* variable is never ignored', () => {
    const segment = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ_'), minLength: 1, maxLength: 16 });
    fc.assert(
      fc.property(fc.constantFrom(...PATHS.filter((p) => p.length === 1)), segment, fc.string({ maxLength: 10 }), (path, suffix, value) => {
        const name = `${envName(path)}${suffix}`;
        // Only names that map to no key at all (a suffix can spell another real key: PORT → PORTS is none, but SPA → SPA_ is none too).
        fc.pre(!PATHS.some((p) => envName(p) === name) && name !== 'GATEHOUSE_CONFIG');
        const outcome = load(MINIMUM, { [name]: value });
        expect('problems' in outcome, `${name} was ignored`).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
