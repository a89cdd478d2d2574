import { z } from 'zod';
import { urlPath } from './values.js';

/** Symbolic links below a served root (src/static/confine.ts): a link in a build output must not serve the machine's files. */
const symlinkPolicy = z
  .enum(['refuse', 'inside'])
  .default('refuse')
  .describe('Symbolic links below the root: "refuse" follows none (the file served is the one the URL names); "inside" follows a link that resolves inside the root to a file that is not hidden. A link out of the root is a 404 either way.');

const staticEntry = z.strictObject({
  path: urlPath.describe('URL path prefix, e.g. "/files".'),
  root: z.string().describe('Directory served under `path`. Relative to the config file.'),
  protected: z.boolean().default(true).describe('Serve files only to a signed-in user.'),
  roles: z
    .array(z.string())
    .optional()
    .describe("When set, the session's user needs one of these roles."),
  symlinks: symlinkPolicy,
});

/** `spa`: the single-page application, built or (in development) from a dev server. */
export const spaSection = z
  .strictObject({
    root: z.string().optional().describe('Directory of the built SPA. Relative to the config file. Exactly one of `root` and `upstream`.'),
    upstream: z
      .string()
      .optional()
      .describe(
        'Development only: origin of a dev server on this machine (e.g. "http://localhost:5173") that serves the SPA instead of `root`, its HMR WebSocket included.',
      ),
    index: z.string().default('index.html').describe('File served for unknown paths (client-side routing).'),
    symlinks: symlinkPolicy,
  })
  .optional()
  .describe('The single-page application to serve: a built directory (`root`) or, in development, a dev server (`upstream`).');

/** `static`: extra static directories. */
export const staticSection = z.array(staticEntry).default([]).describe('Extra static directories, protected by default.');
