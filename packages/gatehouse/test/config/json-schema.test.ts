import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';

const SCHEMA_FILE = fileURLToPath(new URL('../../gatehouse.schema.json', import.meta.url));
const DOCS_FILE = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));

type JsonSchema = { properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[] };

/** Every key path the JSON Schema describes: `session.cookie.name`, `static[].root`, `listen.tls.cert`. */
function keyPaths(schema: JsonSchema, prefix = ''): string[] {
  const paths: string[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    paths.push(path);
    for (const alternative of [child, ...(child.anyOf ?? [])]) {
      paths.push(...keyPaths(alternative, path));
      if (alternative.items) paths.push(...keyPaths(alternative.items, `${path}[]`));
    }
  }
  return paths;
}

describe('gatehouse.schema.json', () => {
  it('is up to date with src/config/schema.ts', () => {
    const expected = configJsonSchemaText();
    // UPDATE_SCHEMA=1 rewrites the file instead (same as `npm run schema`).
    if (process.env.UPDATE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, expected);
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed, 'gatehouse.schema.json is stale: run `npm run schema -w gatehouse`').toBe(expected);
  });

  it('describes the input side: durations as strings, unknown keys refused, publicOrigin required', () => {
    const schema = configJsonSchema() as JsonSchema & { required: string[]; additionalProperties: boolean; $schema: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['publicOrigin']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties?.$schema).toBeDefined();
    const session = schema.properties?.session?.properties;
    expect(session?.idleTimeout).toMatchObject({ type: 'string', default: '30m', pattern: '^\\d+(ms|s|m|h|d)$' });
    expect(keyPaths(schema)).toContain('static[].roles');
    expect(keyPaths(schema)).toContain('listen.tls.key');
  });
});

describe('docs/configuration.md', () => {
  it('documents every key', () => {
    const docs = readFileSync(DOCS_FILE, 'utf8');
    const missing = keyPaths(configJsonSchema() as JsonSchema).filter((path) => !docs.includes(`| \`${path}\``));
    expect(missing, 'add a table row "| `key` | …" for each').toEqual([]);
  });
});
