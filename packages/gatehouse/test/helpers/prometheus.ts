/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests.
 *
 * Why our own: the one npm parser (parse-prometheus-text-format 1.1.1) accepts any line as a
 * sample ("garbage line here" parses) and drops the labels, `_sum` and `_count` of histograms,
 * so it cannot tell valid output from invalid. This follows the format's grammar instead
 * (https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details, and the
 * reference parser's rules where the page is silent) and throws on the first violation:
 *
 * - lines end in `\n`, the last one too; `# HELP name text` and `# TYPE name type` at most once
 *   per family, TYPE before the family's first sample; other `#` lines are comments;
 * - a sample is `name{label="value",…} value [timestamp]`; names match `[a-zA-Z_:][a-zA-Z0-9_:]*`,
 *   label names `[a-zA-Z_][a-zA-Z0-9_]*` and not `__…`; label values escape only `\\`, `\"`, `\n`;
 *   values are floats (Go ParseFloat: also NaN, ±Inf in any case); timestamps integers;
 * - a family's lines are contiguous; no two samples share a name and label set; a label name
 *   appears once per sample;
 * - histograms: `_bucket` samples carry `le`, counts never decrease as `le` grows, the `+Inf`
 *   bucket exists and equals `_count`, and `_sum` exists; counters are never negative.
 *
 * Contiguous families, unique samples, consistent histograms and non-negative counters are rules
 * of the format that promtool's parser lets through (it lints some of them): here they fail.
 * Cross-checked once by hand with `promtool check metrics` (Prometheus 2.42): it parses the whole
 * exposition, and the gatehouse_ families pass its lint too (prom-client's own `nodejs_*_total`
 * gauges draw a naming warning); the malformed lines of `metrics.test.ts` that its parser refuses
 * are refused here too.
 */

/** One sample line: its full name (with `_bucket`, `_sum`, `_count`), labels and value. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** A metric family: the samples under one HELP/TYPE. */
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
  samples: Sample[];
}

/** A violation of the format, naming the line. */
export class ExpositionError extends Error {
  constructor(lineNumber: number, line: string, problem: string) {
    super(`line ${lineNumber}: ${problem}: ${JSON.stringify(line)}`);
    this.name = 'ExpositionError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<Family['type'], readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** Parses and validates an exposition; the families in order of appearance, by name. */
export function parseExposition(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new ExpositionError(0, text.slice(-40), 'the last line does not end in \\n');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  lines.pop(); // after the final \n
  const open = (name: string, n: number, line: string): Family => {
    if (current?.name === name) return current;
    if (current) closed.add(current.name);
    if (closed.has(name) || families.has(name)) throw new ExpositionError(n, line, `lines of family ${name} are not contiguous`);
    current = { name, type: 'untyped', help: undefined, samples: [] };
    families.set(name, current);
    return current;
  };

  lines.forEach((line, index) => {
    const n = index + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!meta) return; // a comment
      const [, keyword, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(n, line, 'invalid metric name');
      const family = open(name, n, line);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(n, line, 'second HELP');
        family.help = unescapeHelp(rest, n, line);
      } else {
        if (!TYPES.has(rest.trim())) throw new ExpositionError(n, line, 'unknown TYPE');
        if (family.samples.length > 0 || family.type !== 'untyped') throw new ExpositionError(n, line, 'TYPE after samples or twice');
        family.type = rest.trim() as Family['type'];
      }
      return;
    }
    const sample = parseSample(line, n);
    const family = familyOf(sample.name, current) ?? open(sample.name, n, line);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seen.has(key)) throw new ExpositionError(n, line, 'duplicate sample');
    seen.add(key);
    if (family.type === 'counter' && !(sample.value >= 0)) throw new ExpositionError(n, line, 'negative or NaN counter');
    if (sample.name.endsWith('_bucket') && family.type === 'histogram' && sample.labels.le === undefined) {
      throw new ExpositionError(n, line, 'bucket without le');
    }
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The family a sample belongs to when it continues the current one (with the type's suffixes). */
function familyOf(name: string, current: Family | undefined): Family | undefined {
  if (!current) return undefined;
  return SUFFIXES[current.type].some((suffix) => name === `${current.name}${suffix}`) ? current : undefined;
}

function parseSample(line: string, n: number): Sample {
  let i = 0;
  const fail = (problem: string): never => {
    throw new ExpositionError(n, line, problem);
  };
  const blanks = () => {
    const start = i;
    while (line[i] === ' ' || line[i] === '\t') i++;
    return i > start;
  };
  const token = () => {
    const start = i;
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '{') i++;
    return line.slice(start, i);
  };
  blanks();
  const name = token();
  if (!METRIC_NAME.test(name)) fail('invalid metric name');
  const labels: Record<string, string> = {};
  let separated = blanks();
  if (line[i] === '{') {
    i++;
    for (;;) {
      blanks();
      if (line[i] === '}') break;
      const start = i;
      while (i < line.length && /[a-zA-Z0-9_]/.test(line[i] as string)) i++;
      const labelName = line.slice(start, i);
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) fail('invalid label name');
      if (Object.hasOwn(labels, labelName)) fail(`label ${labelName} twice`);
      blanks();
      if (line[i++] !== '=') fail('expected =');
      blanks();
      if (line[i++] !== '"') fail('expected "');
      let value = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) fail('unterminated label value');
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else fail('invalid escape in label value');
        } else value += c;
      }
      labels[labelName] = value;
      blanks();
      if (line[i] === ',') {
        i++;
        continue;
      }
      if (line[i] !== '}') fail('expected , or }');
      break;
    }
    i++;
    separated = blanks();
  }
  if (!separated) fail('expected blank before the value');
  const value = parseFloatGo(token()) ?? fail('invalid value');
  if (blanks() && i < line.length) {
    const timestamp = token();
    if (!/^-?[0-9]+$/.test(timestamp)) fail('invalid timestamp');
    blanks();
  }
  if (i !== line.length) fail('trailing characters');
  return { name, labels, value };
}

/** Go's strconv.ParseFloat, which the reference parser uses: decimal or hex floats, NaN and ±Inf in any case. */
function parseFloatGo(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (/^[+]?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(text)) return undefined;
  return Number(text);
}

/** HELP text escapes only `\\` and `\n`. */
function unescapeHelp(text: string, n: number, line: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = text[++i];
    if (e === '\\') out += '\\';
    else if (e === 'n') out += '\n';
    else throw new ExpositionError(n, line, 'invalid escape in HELP');
  }
  return out;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
    let entry = series.get(key);
    if (!entry) {
      entry = { buckets: [] };
      series.set(key, entry);
    }
    if (sample.name.endsWith('_bucket')) {
      const bound = parseFloatGo(le ?? '');
      if (bound === undefined || Number.isNaN(bound)) throw new Error(`${family.name}: invalid le ${JSON.stringify(le)}`);
      entry.buckets.push([bound, sample.value]);
    } else if (sample.name.endsWith('_sum')) entry.sum = sample.value;
    else entry.count = sample.value;
  }
  for (const [key, entry] of series) {
    const buckets = entry.buckets.sort(([a], [b]) => a - b);
    for (let i = 1; i < buckets.length; i++) {
      if ((buckets[i]?.[1] ?? 0) < (buckets[i - 1]?.[1] ?? 0)) throw new Error(`${family.name}${key}: bucket counts decrease`);
    }
    const last = buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (entry.count !== last[1]) throw new Error(`${family.name}${key}: _count differs from the +Inf bucket`);
    if (entry.sum === undefined) throw new Error(`${family.name}${key}: no _sum`);
  }
}

/** The value of the one sample with exactly these labels; 0 when there is none (a series not yet created). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  const wanted = Object.entries(labels);
  const match = family?.samples.find(
    (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
  );
  return match?.value ?? 0;
}

/** The sum over every sample of `name` whose labels include `labels`. */
export function sampleSum(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  const wanted = Object.entries(labels);
  return (family?.samples ?? [])
    .filter((s) => s.name === name && wanted.every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
