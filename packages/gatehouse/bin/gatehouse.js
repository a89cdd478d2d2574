#!/usr/bin/env node
// The CLI runs the compiled code in dist/ (built by `npm install` through the root `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('gatehouse: dist/ is missing. Run "npm run build" in the repository root first.\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
