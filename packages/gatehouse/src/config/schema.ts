import { z } from 'zod';
import { apisSection, internalTokensSection } from './schema/apis.js';
import { postgresSection, redisSection } from './schema/backends.js';
import { authSection, metricsSection } from './schema/endpoints.js';
import { corsSection, headersSection } from './schema/headers.js';
import { listenSection, trustProxySection } from './schema/listen.js';
import { keysSection } from './schema/keys.js';
import { localSection } from './schema/local.js';
import { providersSection, serviceClientSection } from './schema/providers.js';
import { sessionSection } from './schema/session.js';
import { spaSection, staticSection } from './schema/static.js';

export { type ApiConfig, DEFAULT_API_METHODS } from './schema/apis.js';
export type { ProviderConfig } from './schema/providers.js';
export { cookieSchema } from './schema/session.js';

/**
 * The one configuration schema. Objects are strict: an unknown key is an error, because a typo in
 * a security setting must not silently fall back to a default. `npm run schema` writes the JSON
 * Schema editors use (`gatehouse.schema.json`) from this file; the descriptions here and in
 * `schema/` end up there.
 *
 * The schema checks each key on its own. Combinations that are unsafe (a plain-HTTP origin in
 * production, `SameSite=None`, a CORS wildcard…) are refused in `validate.ts`; paths and store URLs
 * are made absolute in `load.ts`. `docs/configuration.md` documents every key (a test checks it).
 *
 * Each section is defined in `schema/<section>.ts`; this file composes them, in the order the
 * JSON Schema (and so an editor's completion) lists them.
 */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of gatehouse.schema.json, for editor completion.'),
    mode: z
      .enum(['production', 'development'])
      .default('production')
      .describe('"development" relaxes exactly three things: plain HTTP on a loopback address, a CORS allowlist, and `spa.upstream` (a dev server instead of the built SPA).'),
    publicOrigin: z
      .string()
      .describe('The one origin the browser sees, e.g. "https://app.example.com". CSRF checks compare against it.'),
    dataDir: z
      .string()
      .default('./data')
      .describe('Where certificates, keys and the SQLite database live. Relative to the config file.'),
    listen: listenSection,
    trustProxy: trustProxySection,
    spa: spaSection,
    static: staticSection,
    session: sessionSection,
    keys: keysSection,
    local: localSection,
    providers: providersSection,
    apis: apisSection,
    internalTokens: internalTokensSection,
    serviceClient: serviceClientSection,
    redis: redisSection,
    postgres: postgresSection,
    metrics: metricsSection,
    cors: corsSection,
    headers: headersSection,
    auth: authSection,
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Log level.'),
  })
  .describe('Gatehouse configuration');

/** The configuration as written in the file. */
export type GatehouseConfigInput = z.input<typeof configSchema>;

/** What the schema alone produces: defaults filled, durations in milliseconds; paths not yet resolved. */
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * The validated configuration: defaults filled, durations in milliseconds, paths absolute, store
 * URLs resolved (`session.store` and `local.store` always set), `publicOrigin` normalized, frozen.
 */
export type GatehouseConfig = Omit<ParsedConfig, 'session' | 'local'> & {
  session: Omit<ParsedConfig['session'], 'store'> & { store: string };
  local: Omit<ParsedConfig['local'], 'store'> & { store: string };
};
