import type { FastifyInstance } from 'fastify';
import type { SigningKeyRing } from './signing-keys.js';

/** Where upstreams find the public keys of internal tokens. */
export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * `GET /.well-known/jwks.json`: the public keys of internal tokens (RFC 7517 §5), current and
 * retired-but-unexpired (an empty set when no route sends internal tokens). Public by design; cacheable for a few minutes — jose's
 * createRemoteJWKSet refetches anyway when a token names an unknown `kid`.
 */
export function registerJwksRoute(app: FastifyInstance, keys: SigningKeyRing | null): void {
  app.get(JWKS_PATH, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    reply.type('application/jwk-set+json');
    return keys ? keys.jwks() : { keys: [] };
  });
}
