#!/usr/bin/env node
// Writes gatehouse.schema.json (the JSON Schema editors use) from the zod schema in
// src/config/schema.ts, via the build in dist/. Run `npm run schema` (it builds first).
// test/config/json-schema.test.ts fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { configJsonSchemaText } = await import('../dist/config/json-schema.js');
const target = fileURLToPath(new URL('../gatehouse.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target}`);
