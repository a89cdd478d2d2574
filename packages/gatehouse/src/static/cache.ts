import { basename } from 'node:path';

/**
 * Build tools put a content hash in asset names (`index-3f2a9c1b.js`, `app.CfE8x_2k.css`):
 * such a file never changes, so browsers may keep it for a year without asking again. A hash
 * has digits and letters; `user-settings.js` or `apple-touch-icon-precomposed.png` do not.
 */
const HASHED_ASSET = /[.-](?=[A-Za-z0-9_]*\d)(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{8,}\.[a-z0-9]+$/;

/** Cache-Control for a public SPA file: immutable for hashed assets, revalidate for everything else. */
export function spaCacheControl(filePath: string): string {
  const name = basename(filePath);
  if (name.endsWith('.html')) return 'no-cache';
  return HASHED_ASSET.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Protected files are per-user: never in a shared cache, and not kept by the browser either, so
 * signing out leaves nothing private behind in the cache.
 */
export const PROTECTED_CACHE_CONTROL = 'private, no-store';

/**
 * CSP for protected files: they may be user uploads, so an uploaded HTML or SVG opened directly
 * must not run script with the app's origin. `sandbox` gives the document an opaque origin;
 * images, media and inline styles (SVG) still render.
 */
export const PROTECTED_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'";
