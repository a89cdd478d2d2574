import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { spaCacheControl } from './cache.js';

export interface SpaOptions {
  root: string;
  index: string;
  /** Path prefixes that are never SPA routes (/auth, /api, protected static paths). */
  reservedPrefixes: readonly string[];
}

/**
 * Serves the built SPA. Known files are sent as they are; a navigation to an unknown path that
 * looks like a client-side route (no file extension) gets index.html; a missing asset
 * (`/missing.js`) is a real 404, so a broken deploy shows up as an error and not as HTML parsed
 * as JavaScript. Dotfiles are never served, directories are never listed, and `send` confines
 * every path to the root after decoding.
 */
export async function registerSpa(app: FastifyInstance, options: SpaOptions): Promise<NotFoundHandler> {
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    index: [options.index],
    list: false,
    dotfiles: 'ignore',
    redirect: false,
    cacheControl: false,
    setHeaders: (reply, path) => reply.header('cache-control', spaCacheControl(path)),
  });

  // The caller installs it as the not-found handler (there is one per app).
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isSpaRoute(request, options.reservedPrefixes)) throw new GatehouseError('not_found');
    reply.header('cache-control', 'no-cache');
    return reply.sendFile(options.index, options.root);
  };
}

export type NotFoundHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** A GET for HTML at a path without an extension, outside the reserved prefixes. */
export function isSpaRoute(request: FastifyRequest, reservedPrefixes: readonly string[]): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?', 1)[0] ?? '/';
  if (reservedPrefixes.some((p) => path === p || path.startsWith(`${p}/`))) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last.includes('.')) return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (request.headers.accept ?? '').includes('text/html');
}
