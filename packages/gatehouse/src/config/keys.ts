import { z } from 'zod';

/**
 * Walking the configuration schema by key: the sibling keys of an unknown key (for "did you
 * mean"), and the schema under an environment variable's path. Internal to `config/`.
 */

/** One step of a configuration path: an object key or an array index. */
export type PathSegment = string | number;

/**
 * `['static', 0, 'root']` → `static[0].root`; the empty path → `''` (the root). A key that is
 * empty or holds `.`, `[`, `]`, `"` or whitespace is written quoted (`redis[" a.b "]`, `[""]`), so
 * every problem names its key unambiguously, even an unknown key with an odd name.
 */
export function formatKey(path: readonly PropertyKey[]): string {
  let key = '';
  for (const segment of path) {
    const name = String(segment);
    if (typeof segment === 'number') key += `[${segment}]`;
    else if (name === '' || /[.[\]"\s]/.test(name)) key += `[${JSON.stringify(name)}]`;
    else key += key === '' ? name : `.${name}`;
  }
  return key;
}

/** Strips the wrappers that do not change which keys a value has (default, optional, pipe…). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The alternatives of a union (or the schema itself), each unwrapped. */
function alternatives(schema: z.ZodType): z.ZodType[] {
  const inner = unwrap(schema);
  return inner instanceof z.ZodUnion ? (inner.options as z.ZodType[]).map(unwrap) : [inner];
}

/** The object keys accepted at `schema` (any object alternative of a union counts). */
export function objectKeys(schema: z.ZodType): string[] {
  return alternatives(schema).flatMap((alt) => (alt instanceof z.ZodObject ? Object.keys(alt.shape) : []));
}

/** The schema of one child: an object's key or an array's element. Undefined when there is none. */
export function childSchema(schema: z.ZodType, segment: PathSegment): z.ZodType | undefined {
  for (const alt of alternatives(schema)) {
    if (typeof segment === 'string' && alt instanceof z.ZodObject && Object.hasOwn(alt.shape, segment)) {
      return alt.shape[segment] as z.ZodType;
    }
    if (typeof segment === 'number' && alt instanceof z.ZodArray) return alt.element as z.ZodType;
  }
  return undefined;
}

/** The schema at `path`, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: readonly PathSegment[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const segment of path) {
    if (current === undefined) return undefined;
    current = childSchema(current, segment);
  }
  return current;
}

/** True when the schema (at this level) accepts an array. */
export function acceptsArray(schema: z.ZodType): boolean {
  return alternatives(schema).some((alt) => alt instanceof z.ZodArray);
}

/** Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** The candidate closest to `word` when it is plausibly a typo or abbreviation of it, else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    // An abbreviation ("prod", "dev") counts as close as a one-letter typo.
    const d = other === lower ? 0 : lower.length >= 3 && other.startsWith(lower) ? 1 : distance(lower, other);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}
