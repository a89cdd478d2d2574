import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { isUnderAnyPrefix, pathOfTarget } from '../util/path-prefix.js';
import { spaCacheControl } from './cache.js';
import { confine, type SymlinkPolicy } from './confine.js';

export interface SpaOptions {
  root: string;
  index: string;
  /** Path prefixes that are never SPA routes (/auth, /api, protected static paths). */
  reservedPrefixes: readonly string[];
  /** Symbolic links below the root: none followed (default), or those that stay inside it. */
  symlinks?: SymlinkPolicy | undefined;
}

/**
 * Serves the built SPA. Known files are sent as they are; a navigation to an unknown path that
 * looks like a client-side route (no file extension) gets index.html; a missing asset
 * (`/missing.js`) is a real 404, so a broken deploy shows up as an error and not as HTML parsed
 * as JavaScript. Dotfiles are never served, directories are never listed, and `send` confines
 * every path to the root after decoding; {@link confine} then confines the file it resolved, and
 * the descriptor it opened, to the root's link policy (index.html included). The SPA needs no
 * session, so a link out of this root would hand the machine's files to anyone.
 */
export async function registerSpa(app: FastifyInstance, options: SpaOptions): Promise<NotFoundHandler> {
  const confinement = confine(options.root, options.symlinks ?? 'refuse');
  // At the app's level (the static routes and the not-found handler live there); it passes over
  // every payload that is not a file stream under this root.
  app.addHook('onSend', confinement.onSend);
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    index: [options.index],
    list: false,
    dotfiles: 'ignore',
    redirect: false,
    cacheControl: false,
    onFile: confinement.onFile,
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

/** A GET for HTML at a path without an extension, outside the reserved prefixes (as sent and decoded). */
export function isSpaRoute(request: FastifyRequest, reservedPrefixes: readonly string[]): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = pathOfTarget(request.url);
  // Also decoded: the router reads "/%61uth/x" as "/auth/x", so that spelling is reserved too.
  if (isUnderAnyPrefix(path, reservedPrefixes, { alsoDecoded: true })) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last.includes('.')) return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (request.headers.accept ?? '').includes('text/html');
}
