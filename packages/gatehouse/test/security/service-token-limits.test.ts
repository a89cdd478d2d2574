// Attack: the issuer of Gatehouse's own service client (client credentials grant) answers with a
// body meant to be buffered: a 40 MB token response. The download must be cut off at the token
// limit and the API call refused with 502 upstream_token_unavailable, as for every other provider
// request (OWASP ASVS 5.0 V15.2: resource limits on data from external services).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/errors.js';
import { PROVIDER_BODY_LIMITS } from '../../src/http/bounded-fetch.js';
import { ServiceTokens } from '../../src/tokens/client-credentials.js';

const HUGE = 40 * 1024 * 1024;

describe('service client issuer limits', () => {
  let server: Server;
  let issuer: string;
  let mode: 'huge' | 'ok' = 'huge';
  const written: number[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/.well-known/openid-configuration') {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }));
        return;
      }
      if (request.url === '/token' && mode === 'ok') {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ access_token: 'service-token', token_type: 'Bearer', expires_in: 300 }));
        return;
      }
      // A valid JSON start, then padding for ever: only a limit while streaming stops it.
      response.setHeader('content-type', 'application/json');
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      response.write('{"access_token":"');
      const pump = () => {
        while (sent < HUGE) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end('","token_type":"Bearer"}');
      };
      response.on('close', () => written.push(sent));
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const tokens = () =>
    new ServiceTokens({
      config: { issuer, clientId: 'gatehouse', clientSecret: 'secret', scopes: [], allowHttpIssuer: true },
      clock: Date.now,
    });

  it('OWASP ASVS 5.0 V15.2: a 40 MB client-credentials token response is cut off while streaming and refused with upstream_token_unavailable', async () => {
    mode = 'huge';
    const error = await tokens().token('orders-api').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('upstream_token_unavailable');
    // The issuer saw the connection close long before it wrote everything.
    await expect.poll(() => written.length).toBeGreaterThan(0);
    expect(written[0]).toBeLessThan(HUGE / 4);
    expect(PROVIDER_BODY_LIMITS.token).toBeLessThan(HUGE / 4);
  });

  it('control: a normal token response is used', async () => {
    mode = 'ok';
    await expect(tokens().token('orders-api')).resolves.toBe('service-token');
  });
});
