import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The JSON Schema of the configuration file, for editor completion and validation. It describes
 * the input side (what you write: durations as strings, defaults shown). `gatehouse.schema.json`
 * is generated from it (`npm run schema`), and a test fails when that file is out of date.
 *
 * The JSON Schema checks keys one by one; unsafe combinations are refused only by Gatehouse itself.
 */
export function configJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, title: 'Gatehouse configuration', ...rest };
}

/** The committed file's exact text: two-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
