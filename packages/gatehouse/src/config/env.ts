import type { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { acceptsArray, childSchema, closest, formatKey, objectKeys, type PathSegment } from './keys.js';

/**
 * Environment overrides: `GATEHOUSE_<PATH>` sets one configuration key. Path segments are joined
 * by `__`; each segment is the camelCase key in SCREAMING_SNAKE (`GATEHOUSE_SESSION__IDLE_TIMEOUT`
 * → `session.idleTimeout`), or an array index (`GATEHOUSE_STATIC__0__ROOT` → `static[0].root`).
 * A variable that names no key is a problem, like an unknown key in the file: a misspelt override
 * must not be silently ignored.
 */

/** Every override variable starts with this. Other variables are ignored. */
export const ENV_PREFIX = 'GATEHOUSE_';

/**
 * `GATEHOUSE_` variables that are not configuration keys and are left alone. `GATEHOUSE_CONFIG`
 * is reserved for the CLI (the config file path), so it never reads as an unknown key.
 */
export const NON_CONFIG_ENV: ReadonlySet<string> = new Set(['GATEHOUSE_CONFIG']);

/** `idleTimeout` → `IDLE_TIMEOUT`. */
export function screamingSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `['session', 'idleTimeout']` → `GATEHOUSE_SESSION__IDLE_TIMEOUT`. */
export function envName(path: readonly PathSegment[]): string {
  return ENV_PREFIX + path.map((s) => (typeof s === 'number' ? String(s) : screamingSnake(s))).join('__');
}

/** The input with overrides applied, the problems found, and which variable set which key. */
export interface EnvOverrides {
  input: unknown;
  problems: ConfigProblem[];
  /** Dotted key (`listen.port`) → the variable that set it, so problems can name their source. */
  sources: Map<string, string>;
}

interface Override {
  name: string;
  path: PathSegment[];
  value: unknown;
}

type Resolved = { path: PathSegment[]; schema: z.ZodType } | { problem: ConfigProblem };

/** Maps a variable name to a schema path, or explains why it names no key. */
function resolvePath(name: string, root: z.ZodType): Resolved {
  const segments = name.slice(ENV_PREFIX.length).split('__');
  const path: PathSegment[] = [];
  let schema = root;
  for (const [i, segment] of segments.entries()) {
    if (/^\d+$/.test(segment) && acceptsArray(schema)) {
      path.push(Number(segment));
    } else {
      const keys = objectKeys(schema).filter((k) => /^[A-Za-z]/.test(k));
      const key = keys.find((k) => screamingSnake(k) === segment);
      if (key === undefined) {
        const where = path.length === 0 ? 'at the top level' : `under ${formatKey(path)}`;
        const guess = closest(segment, keys.map(screamingSnake));
        const suggestion =
          guess !== undefined
            ? ` — did you mean ${ENV_PREFIX + [...segments.slice(0, i), guess, ...segments.slice(i + 1)].join('__')}?`
            : '.';
        const known = keys.map(screamingSnake).join(', ');
        return {
          problem: {
            key: name,
            message: `no such configuration key "${segment}" ${where}${suggestion} Keys here: ${known || '(none: this key takes a plain value)'}. Segments are SCREAMING_SNAKE keys joined by "__"; unset the variable if it is not meant for Gatehouse.`,
          },
        };
      }
      path.push(key);
    }
    const child = childSchema(schema, path[path.length - 1] as PathSegment);
    if (child === undefined) throw new Error(`unreachable: ${name}`);
    schema = child;
  }
  return { path, schema };
}

/** JSON when the text is JSON valid for the key; the text itself otherwise (`NAME=123` stays "123" for a string key). */
function parseValue(text: string, schema: z.ZodType): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof json !== 'string' && !schema.safeParse(json).success && schema.safeParse(text).success) return text;
  return json;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sets `path` to `value`, copying each container on the way (the caller's input is never
 * mutated). A scalar in the way is replaced by an empty object or array. Returns a problem when an
 * array index would leave a hole.
 */
function setAt(container: unknown, path: readonly PathSegment[], value: unknown, name: string): [unknown, ConfigProblem?] {
  const [head, ...rest] = path;
  if (head === undefined) return [value];
  if (typeof head === 'number') {
    const array = Array.isArray(container) ? [...container] : [];
    if (head > array.length) {
      const message = `index ${head} leaves a gap: the list has ${array.length} entr${array.length === 1 ? 'y' : 'ies'}, so the next index is ${array.length}.`;
      return [container, { key: name, message }];
    }
    const [child, problem] = setAt(array[head], rest, value, name);
    array[head] = child;
    return [array, problem];
  }
  const object = isRecord(container) ? { ...container } : {};
  const [child, problem] = setAt(object[head], rest, value, name);
  object[head] = child;
  return [object, problem];
}

/**
 * Applies every `GATEHOUSE_*` variable of `env` to `input`. Shallow paths are applied first, so
 * `GATEHOUSE_SESSION__IDLE_TIMEOUT` wins over an `idleTimeout` inside `GATEHOUSE_SESSION='{…}'`.
 */
export function applyEnvOverrides(input: unknown, env: Record<string, string | undefined>, root: z.ZodType): EnvOverrides {
  const problems: ConfigProblem[] = [];
  const overrides: Override[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined || NON_CONFIG_ENV.has(name)) continue;
    const resolved = resolvePath(name, root);
    if ('problem' in resolved) problems.push(resolved.problem);
    else overrides.push({ name, path: resolved.path, value: parseValue(text, resolved.schema) });
  }
  overrides.sort((a, b) => a.path.length - b.path.length || a.name.localeCompare(b.name));

  const sources = new Map<string, string>();
  // A file that is not an object is reported as such by the schema; overrides cannot apply to it.
  if (!isRecord(input)) return { input, problems, sources };
  let result: unknown = input;
  for (const { name, path, value } of overrides) {
    const [next, problem] = setAt(result, path, value, name);
    result = next;
    if (problem) problems.push(problem);
    else sources.set(formatKey(path), name);
  }
  return { input: result, problems, sources };
}
