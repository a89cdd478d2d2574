import type * as client from 'openid-client';
import { GatehouseError } from '../errors.js';

/**
 * Largest body accepted from a provider, by kind. Real discovery documents and JWK sets are a few
 * KiB (the largest public ones, Microsoft's and Google's, stay under 20 KiB); token and UserInfo
 * answers carry a handful of tokens, each bounded again by the session limits in `claims.ts`.
 * Anything larger is not an answer we could use, only a way to make us buffer it (OWASP ASVS 5.0
 * V15.2: resource limits on data from external services).
 */
export const PROVIDER_BODY_LIMITS = {
  /** Discovery, JWKS, revocation and anything not named below. */
  default: 256 * 1024,
  /** The token endpoint (code exchange and refresh). */
  token: 64 * 1024,
  /** UserInfo. */
  userinfo: 64 * 1024,
} as const;

/** Statuses whose response must not have a body (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface BoundedFetchOptions {
  /** The underlying fetch: the global one, or a test's. */
  fetch?: client.CustomFetch | undefined;
  /** Longest wait for one request, body included, ms. */
  timeoutMs: number;
  /** The body limit for this URL, bytes. */
  limitFor(url: string): number;
}

/**
 * A `customFetch` for openid-client that bounds every provider request: a deadline covering the
 * response headers AND the body (a provider dripping bytes cannot hold a login open), and a size
 * limit enforced while streaming — past the limit the download is cancelled and the connection
 * closed, so an oversized answer is never buffered in full. The body handed to openid-client is
 * the bytes read, in a fresh `Response` with the same status and headers.
 */
export function boundedFetch(options: BoundedFetchOptions): client.CustomFetch {
  const base = options.fetch ?? (fetch as unknown as client.CustomFetch);
  return async (url, init) => {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const response = await base(url, { ...init, signal });
    const body = await readBounded(response, options.limitFor(url), url, signal);
    return new Response(NULL_BODY.has(response.status) ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * The body of `response`, at most `limit` bytes. A declared `Content-Length` above the limit is
 * refused before reading; otherwise bytes are counted as they arrive and the stream is cancelled
 * (which closes the connection) as soon as they exceed the limit.
 */
export async function readBounded(response: Response, limit: number, url: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () =>
    new GatehouseError('login_failed', {
      message: `The sign-in provider's answer from ${new URL(url).pathname} exceeds ${limit} bytes: refused unread.`,
    });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array<ArrayBufferLike>[] = [];
  let size = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
