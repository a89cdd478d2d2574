// Prints the SDK's size as a page pays for it (not a threshold: the number goes into README.md),
// and checks what "zero runtime dependencies" means for the bundle: one chunk, no imports.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { measure } from '../scripts/size.mjs';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('bundle', () => {
  it('bundles to one self-contained chunk; prints its minified + gzipped size', async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run "npm run build" in the repository root first`);
    const { minified, gzipped, chunks, imports } = (await measure()) as { minified: number; gzipped: number; chunks: number; imports: string[] };
    console.log(`@gatehouse/client: ${minified} B minified, ${gzipped} B minified + gzipped`);
    expect(chunks).toBe(1);
    expect(imports).toEqual([]);
  });
});
