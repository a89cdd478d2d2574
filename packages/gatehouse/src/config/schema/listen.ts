import { z } from 'zod';
import { duration } from './values.js';

/** `listen`: where the gateway listens, and the bounds of each connection. */
export const listenSection = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on.'),
    port: z.number().int().min(0).max(65535).default(8443).describe('TCP port (0: any free port).'),
    tls: z
      .union([
        z.literal('self-signed'),
        z.literal(false),
        z.strictObject({
          cert: z.string().describe('PEM certificate (chain) file. Relative to the config file.'),
          key: z.string().describe('PEM private key file. Relative to the config file.'),
        }),
      ])
      .default('self-signed')
      .describe(
        '"self-signed" (generated into dataDir), { "cert", "key" } PEM file paths relative to the config file, or false (only behind a TLS proxy, or on loopback in development).',
      ),
    // Connection bounds (src/http/listener.ts): silent or slow connections must not hold descriptors.
    handshakeTimeout: duration('5s', 'A TLS handshake not finished within this long is dropped.'),
    firstRequestTimeout: duration('10s', 'A connection that sends no request within this long of opening (after TLS) is closed.'),
    headersTimeout: duration('20s', "A request's headers must all arrive within this long (408). At most `requestTimeout`."),
    requestTimeout: duration('30s', 'A whole request, body included, must arrive within this long (408).'),
    keepAliveTimeout: duration('5s', 'An idle keep-alive connection is closed after this long. Behind a load balancer: above its idle timeout.'),
    sendTimeout: duration('60s', 'A response the client has stopped reading (nothing accepted for this long) is cut and its connection closed.'),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe('Connections open at once; beyond it, new connections are closed as they arrive.'),
    shutdownTimeout: duration('10s', 'On shutdown, requests in flight get this long to finish; then every connection is closed.'),
  })
  .prefault({})
  .describe('Where the gateway listens, and the bounds of each connection.');

/** `trustProxy`: which proxies in front are believed about the client address. */
export const trustProxySection = z
  // A count that is not a whole number >= 0 is refused in validate.ts, with the fix.
  .union([z.boolean(), z.number(), z.string(), z.array(z.string())])
  .default(false)
  .describe(
    'The proxies in front whose X-Forwarded-For is believed: a hop count (e.g. 1), or their addresses/CIDRs ("10.0.0.1,10.0.0.0/8" or a list); true (every hop) only in development.',
  );
