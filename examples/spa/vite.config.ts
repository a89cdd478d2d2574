import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * `vite build` writes straight into the gateway package's demo folder: `gatehouse demo` serves
 * DEMO_DIR/spa as it is, so the demo always runs the SPA built from this source.
 */
const OUT_DIR = fileURLToPath(new URL('../../packages/gatehouse/demo/spa', import.meta.url));

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: OUT_DIR,
    // The folder is outside this project: Vite empties it only when told to. It holds build output only.
    emptyOutDir: true,
    // The gateway's CSP is `script-src 'self'; style-src 'self'` with no 'unsafe-inline': nothing
    // may be inlined into index.html. No preload polyfill (it would be an inline script in some
    // set-ups); small assets stay files instead of data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
