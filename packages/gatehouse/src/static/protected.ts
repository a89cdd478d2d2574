import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRecord } from '../session/model.js';
import { PROTECTED_CACHE_CONTROL, PROTECTED_CSP, spaCacheControl } from './cache.js';
import { confine, type SymlinkPolicy } from './confine.js';

export interface StaticMount {
  path: string;
  root: string;
  protected: boolean;
  roles?: readonly string[] | undefined;
  /** Symbolic links below the root: none followed (default), or those that stay inside it. */
  symlinks?: SymlinkPolicy | undefined;
}

/** Decides whether a request may read a protected file; throws the refusal otherwise. */
export type AccessGuard = (request: FastifyRequest, reply: FastifyReply, roles?: readonly string[]) => Promise<SessionRecord | null>;

/**
 * Mounts a static folder. A protected one is readable only with a live session (and one of its
 * roles, if any): this is how `<img src>` and download links are protected — by the cookie the
 * browser sends anyway, never by a token in the URL. The session check comes first; then
 * {@link confine} keeps the file served (and the descriptor opened) inside the root.
 */
export async function registerStaticMount(app: FastifyInstance, mount: StaticMount, guard: AccessGuard): Promise<void> {
  const confinement = confine(mount.root, mount.symlinks ?? 'refuse');
  await app.register(async (scope) => {
    scope.addHook('onSend', confinement.onSend);
    if (mount.protected) {
      scope.addHook('onRequest', async (request, reply) => {
        // null: the guard already answered (a redirect to the login page).
        if ((await guard(request, reply, mount.roles)) === null) return reply;
      });
    }
    await scope.register(fastifyStatic, {
      root: mount.root,
      prefix: `${mount.path}/`,
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'ignore',
      redirect: false,
      cacheControl: false,
      onFile: confinement.onFile,
      setHeaders: (reply, path) => {
        if (!mount.protected) return reply.header('cache-control', spaCacheControl(path));
        reply.header('content-security-policy', PROTECTED_CSP);
        return reply.header('cache-control', PROTECTED_CACHE_CONTROL);
      },
    });
  });
}
