import { z } from 'zod';

/** `cors`: cross-origin calls (development only). */
export const corsSection = z
  .strictObject({
    allowOrigins: z
      .union([z.array(z.string()), z.literal('*'), z.literal(true)])
      .default([])
      .describe('Origins allowed to call cross-origin. Development only; "*" and true are refused.'),
    allowCredentials: z.boolean().default(true).describe('Send Access-Control-Allow-Credentials: true.'),
  })
  .prefault({})
  .describe('CORS. Off by default: the SPA and the API share one origin.');

/** `headers`: the security response headers. */
export const headersSection = z
  .strictObject({
    contentSecurityPolicy: z
      .union([z.string(), z.literal(false)])
      .default(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      )
      .describe('Content-Security-Policy header, or false to send none.'),
    referrerPolicy: z.string().default('strict-origin-when-cross-origin').describe('Referrer-Policy header.'),
    hsts: z
      .strictObject({
        maxAge: z.number().int().min(0).default(31_536_000).describe('max-age in seconds.'),
        includeSubDomains: z.boolean().default(true).describe('includeSubDomains directive.'),
        preload: z.boolean().default(false).describe('preload directive (needs includeSubDomains and maxAge >= 1 year).'),
      })
      .prefault({})
      .describe('Strict-Transport-Security header.'),
  })
  .prefault({})
  .describe('Security response headers.');
