import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_ERRORS, ERRORS } from '../src/errors.js';
import { ACCOUNT_ERROR_CODES } from '../src/local/account-fields.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  it('lists exactly the codes of the registry, each with its status', () => {
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const registry = Object.entries(ERRORS).map(([code, { status }]) => [code, status]);
    expect(rows.sort()).toEqual(registry.sort());
  });

  it('lists exactly the start-up error codes of the registry, in their own section', () => {
    const section = doc.slice(doc.indexOf('\n## Start-up errors'));
    expect(section.length, 'docs/errors.md has no "## Start-up errors" section').toBeLessThan(doc.length);
    const rows = [...section.matchAll(/^\| `(GH_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.keys(BOOT_ERRORS).sort());
  });

  it('lists exactly the account error codes (AccountError), in their own section', () => {
    const start = doc.indexOf('\n## Account errors');
    expect(start, 'docs/errors.md has no "## Account errors" section').toBeGreaterThanOrEqual(0);
    const end = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, end === -1 ? undefined : end);
    const rows = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...ACCOUNT_ERROR_CODES].sort());
  });
});
