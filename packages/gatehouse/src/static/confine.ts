import { type Stats, fstat as fstatCallback, ReadStream } from 'node:fs';
import { readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';

const fstat = promisify(fstatCallback);

/**
 * How a served root treats symbolic links (config `spa.symlinks`, `static[].symlinks`).
 *
 * - `"refuse"` (default): no link is followed anywhere below the root: the file served is exactly
 *   the one the URL names. The root itself may be a link (`current -> releases/42`).
 * - `"inside"`: a link is followed when the file it resolves to is inside the root and no segment
 *   of its resolved path is hidden (a link `notes.txt -> .env` would otherwise undo the dotfile rule).
 *
 * A link to anywhere outside the root is refused in both modes: a link in a build output must
 * not serve the machine's files (OWASP ASVS 5.0 V13.4 / CWE-59, link following).
 */
export type SymlinkPolicy = 'refuse' | 'inside';

/**
 * The real path of `path` when serving it from `root` obeys `policy`, else null. Everything is
 * resolved now, at request time, with no cache: a link created after start is seen. `path` is the
 * absolute path `send` built from the root and the request path (after its own `..` checks).
 */
export async function confinedRealPath(path: string, root: string, policy: SymlinkPolicy): Promise<string | null> {
  const logical = relative(root, path);
  if (logical === '' || escapes(logical)) return null;
  let realRoot: string;
  let realFile: string;
  try {
    [realRoot, realFile] = await Promise.all([realpath(root), realpath(path)]);
  } catch {
    return null;
  }
  if (policy === 'refuse') return realFile === join(realRoot, logical) ? realFile : null;
  const inside = relative(realRoot, realFile);
  if (inside === '' || escapes(inside)) return null;
  // The dotfile rule is applied to the URL by `send`; a link must not reach a hidden file either.
  if (inside.split(sep).some((segment) => segment.startsWith('.'))) return null;
  return realFile;
}

/**
 * True when the file behind an opened descriptor is the confined file at `path`: the kernel's own
 * name for the descriptor (`/proc/self/fd`, Linux) is the checked real path, and its device and
 * inode are those of that path. This is the check on what is actually read, after the open, so a
 * link swapped in between the first check and the open is still refused (TOCTOU, CWE-367).
 */
export async function openedFileIsConfined(fd: number, path: string, root: string, policy: SymlinkPolicy): Promise<boolean> {
  const real = await confinedRealPath(path, root, policy);
  if (real === null) return false;
  // Where /proc is not mounted (other systems), the device + inode comparison below still holds.
  const opened = await readlink(`/proc/self/fd/${fd}`).catch(() => undefined);
  if (opened !== undefined && opened !== real) return false;
  try {
    const [open, named] = await Promise.all([fstat(fd), stat(real)]);
    return sameFile(open, named);
  } catch {
    return false;
  }
}

/** Options and a hook that confine one @fastify/static root to its {@link SymlinkPolicy}. */
export interface Confinement {
  /**
   * `send`'s `onFile`: runs on the final file (index, extension and pre-compressed variants
   * included) before any header, Range, conditional or HEAD answer is made from it.
   */
  onFile(path: string, stats: Stats): Promise<void>;
  /** An `onSend` hook: checks the descriptor the file stream actually opened before a byte is sent. */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

/** Headers `send` derived from the refused file: none of them may describe it in the 404. */
const FILE_HEADERS = ['content-type', 'content-length', 'content-range', 'content-encoding', 'accept-ranges', 'etag', 'last-modified'];

export function confine(root: string, policy: SymlinkPolicy): Confinement {
  return {
    async onFile(path, stats) {
      const real = await confinedRealPath(path, root, policy);
      if (real === null) throw refusal();
      // The file `send` measured (size, ETag) must be the one checked.
      const named = await stat(real).catch(() => undefined);
      if (!named || !sameFile(stats, named)) throw refusal();
    },
    async onSend(_request, reply, payload) {
      if (!(payload instanceof ReadStream) || typeof payload.path !== 'string' || !isUnder(payload.path, root)) return payload;
      // `fd` is set once the stream has opened the file (Node's ReadStream; not in its typings).
      const stream = payload as ReadStream & { fd?: number | null };
      const path = payload.path;
      try {
        if (stream.pending) await new Promise<void>((resolve, reject) => stream.once('ready', () => resolve()).once('error', reject));
        if (typeof stream.fd === 'number' && (await openedFileIsConfined(stream.fd, path, root, policy))) return stream;
      } catch {
        // The file went away between the check and the open: not found either way.
      }
      stream.destroy();
      for (const name of FILE_HEADERS) reply.removeHeader(name);
      // A refusal must not be kept as an immutable asset.
      reply.header('cache-control', 'no-store');
      throw refusal();
    },
  };
}

/** The same 404 as a missing file: no hint that a link was there, nor where it pointed. */
function refusal(): GatehouseError {
  return new GatehouseError('not_found');
}

function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

function isUnder(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !escapes(rel);
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
