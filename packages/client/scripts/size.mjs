// Prints what the SDK costs a page: dist/index.js bundled, minified (Vite 8's production
// minifier, as an app's own build runs it) and gzipped. A report, not a threshold: `npm run size`.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

/** Bundles the SDK alone with every export kept; returns its sizes in bytes and any import left in it. */
export async function measure() {
  const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      modulePreload: false,
      // An app build (lib mode keeps whitespace in ES output); 'strict' keeps every export.
      rolldownOptions: { input: entry, preserveEntrySignatures: 'strict' },
    },
  });
  const chunks = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output).filter((o) => o.type === 'chunk');
  const code = chunks.map((c) => c.code).join('\n');
  return {
    minified: Buffer.byteLength(code),
    gzipped: gzipSync(code, { level: 9 }).length,
    chunks: chunks.length,
    imports: chunks.flatMap((c) => [...c.imports, ...c.dynamicImports]),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await measure();
  process.stdout.write(`@gatehouse/client: ${minified} B minified, ${gzipped} B minified + gzipped\n`);
}
