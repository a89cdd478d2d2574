import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it('lists exactly the codes of the registry, each with its status', () => {
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const registry = Object.entries(ERRORS).map(([code, { status }]) => [code, status]);
    expect(rows.sort()).toEqual(registry.sort());
  });
});
