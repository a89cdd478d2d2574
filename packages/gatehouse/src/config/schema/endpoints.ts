import { z } from 'zod';
import { urlPath } from './values.js';

/** `metrics`: Prometheus metrics. */
export const metricsSection = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Expose Prometheus metrics.'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe('Serve `/metrics` on this separate admin port (plain HTTP) instead of the public origin. Recommended.'),
    host: z.string().default('127.0.0.1').describe('Address of the admin listener (with `port`).'),
    public: z
      .boolean()
      .default(false)
      .describe('Production without `port`: serve `/metrics` on the public origin anyway (restrict it at your load balancer).'),
  })
  .prefault({})
  .describe('Prometheus metrics at `/metrics`.');

/** `auth`: where the auth endpoints live. */
export const authSection = z
  .strictObject({
    prefix: urlPath.default('/auth').describe('URL prefix of the auth endpoints.'),
    loginPage: urlPath
      .default('/')
      .describe('Where a navigation to a protected page without a session is sent (`?returnTo=` is added).'),
  })
  .prefault({})
  .describe('Auth endpoints.');
