import type { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { closest, formatKey, objectKeys, schemaAt } from './keys.js';

/**
 * Turns zod issues into {@link ConfigProblem}s that name the key and say how to fix it, in the
 * words of the configuration file rather than of the schema library. Internal to `config/`.
 */

type Issue = z.core.$ZodIssue;

/** What to write, for keys whose accepted shapes are not obvious from a type name. */
const HINTS: Record<string, string> = {
  publicOrigin: 'the origin users open, e.g. "https://app.example.com"',
  'listen.tls': '"self-signed", false, or { "cert": "cert.pem", "key": "key.pem" }',
  trustProxy: 'true, a hop count such as 1, or the proxies\' addresses or CIDRs such as "10.0.0.1, 10.0.0.0/8" (a string or a list)',
  'listen.maxConnections': 'a whole number of connections, e.g. 4096',
  'spa.root': 'the directory of the built SPA, e.g. "./dist"',
  'static[].path': 'a URL path such as "/files"',
  'static[].root': 'a directory such as "./files"',
  'cors.allowOrigins': 'a list of origins, e.g. ["http://localhost:5173"]',
  'headers.contentSecurityPolicy': 'a policy string, or false to send no Content-Security-Policy',
};

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length <= 40 ? JSON.stringify(value) : 'a long string';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function hintFor(path: readonly PropertyKey[]): string | undefined {
  return HINTS[formatKey(path).replace(/\[\d+\]/g, '[]')];
}

function typeProblem(issue: Extract<Issue, { code: 'invalid_type' }>, path: readonly PropertyKey[]): string {
  const hint = hintFor(path);
  const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
  if (issue.input === undefined) {
    return `required: add it (${hint ?? expected}).`;
  }
  const got = describeValue(issue.input);
  let fix = hint ? `write ${hint}` : `write ${expected}`;
  if (typeof issue.input === 'string' && (issue.expected === 'number' || issue.expected === 'int')) {
    if (issue.input.trim() !== '' && Number.isFinite(Number(issue.input))) fix = `write ${issue.input} without quotes`;
  }
  if (typeof issue.input === 'string' && issue.expected === 'boolean' && /^(true|false)$/.test(issue.input)) {
    fix = `write ${issue.input} without quotes`;
  }
  return `expected ${expected}, got ${got}: ${fix}.`;
}

function valueProblem(issue: Extract<Issue, { code: 'invalid_value' }>): string {
  const allowed = issue.values.map((v) => JSON.stringify(v));
  const got = describeValue(issue.input);
  const suggestion =
    typeof issue.input === 'string'
      ? closest(
          issue.input,
          issue.values.filter((v): v is string => typeof v === 'string'),
        )
      : undefined;
  const fix = suggestion !== undefined ? ` Did you mean "${suggestion}"?` : '';
  return `must be ${allowed.length === 1 ? allowed[0] : `one of ${allowed.join(', ')}`} (got ${got}).${fix}`;
}

function unionProblems(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  path: readonly PropertyKey[],
  root: z.ZodType,
): ConfigProblem[] {
  // A branch that got past its type check (its issues lie deeper) explains the failure best:
  // `["http://a", 3]` is "allowOrigins[1]: expected a string", not "not a list or '*'".
  const deeper = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  if (deeper) return deeper.flatMap((inner) => issueProblems(inner, [...path, ...inner.path], root));
  const alternatives = issue.errors.flatMap((branch) =>
    branch.flatMap((i) => {
      if (i.code === 'invalid_value') return i.values.map((v) => JSON.stringify(v));
      if (i.code === 'invalid_type') return [TYPE_NAMES[i.expected] ?? i.expected];
      return [];
    }),
  );
  const wanted = hintFor(path) ?? [...new Set(alternatives)].join(', or ');
  return [{ key: formatKey(path), message: `must be ${wanted} (got ${describeValue(issue.input)}).` }];
}

function issueProblems(issue: Issue, path: readonly PropertyKey[], root: z.ZodType): ConfigProblem[] {
  const key = formatKey(path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const parent = schemaAt(
        root,
        path.filter((s): s is string | number => typeof s !== 'symbol'),
      );
      const known = parent ? objectKeys(parent) : [];
      return issue.keys.map((unknown) => {
        const suggestion = closest(unknown, known);
        const fix =
          suggestion !== undefined
            ? `did you mean "${suggestion}"? Fix the spelling: unknown keys are refused so a typo cannot silently leave a setting at its default.`
            : `remove it. Keys allowed here: ${known.join(', ')}.`;
        return { key: formatKey([...path, unknown]), message: `unknown key — ${fix}` };
      });
    }
    case 'invalid_type':
      return [{ key, message: typeProblem(issue, path) }];
    case 'invalid_value':
      return [{ key, message: valueProblem(issue) }];
    case 'invalid_union':
      return unionProblems(issue, path, root);
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return [{ key, message: 'must not be empty.' }];
      return [{ key, message: `must be at least ${String(issue.minimum)}.` }];
    case 'too_big':
      return [{ key, message: `must be at most ${String(issue.maximum)}.` }];
    default:
      return [{ key, message: issue.message }];
  }
}

/**
 * One problem per zod issue (one per unknown key), keyed by dotted path (`static[0].root`).
 * Parse with `reportInput: true` so messages can say what was found.
 */
export function problemsFromIssues(issues: readonly Issue[], root: z.ZodType): ConfigProblem[] {
  return issues.flatMap((issue) => issueProblems(issue, issue.path, root));
}
