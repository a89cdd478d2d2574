// Attack: two Host fields in one request. Node keeps the first; a cache, WAF or upstream in the
// path may read the other, so the two disagree on which site was asked for (request smuggling,
// cache poisoning). RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
// to any HTTP/1.1 request message that lacks a Host header field and to any request message that
// contains more than one Host header field line". Sent byte for byte over a real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type ProxyFixture, proxyFixture, rawRequest } from '../proxy/setup.js';

describe('repeated Host', () => {
  let fixture: ProxyFixture;
  let origin: string;
  beforeAll(async () => {
    fixture = await proxyFixture();
    origin = await listen(fixture.gw);
  });
  afterAll(() => fixture.close());

  it.each(['/', '/auth/session', '/api/open/x'])('RFC 9112 §3.2: a second Host field on %s is refused with 400 invalid_request', async (path) => {
    const before = fixture.echo.seen.length;
    const answer = await rawRequest(origin, path, [['Host', 'evil.example']]);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toBe('invalid_request');
    expect(fixture.echo.seen.length).toBe(before);
  });

  it('RFC 9112 §3.2: a second Host field differing only in case of the name is refused too', async () => {
    const answer = await rawRequest(origin, '/api/open/x', [['hOST', 'evil.example']]);
    expect(answer.status).toBe(400);
  });

  it('RFC 9112 §3.2: a WebSocket handshake with a second Host field is refused before the upstream is dialled', async () => {
    const before = fixture.echo.seen.length;
    const answer = await rawRequest(origin, '/api/ws/chat', [
      ['Host', 'evil.example'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Origin', fixture.gw.gatehouse.config.publicOrigin],
    ]);
    expect(answer.status).toBe(400);
    expect(fixture.echo.seen.length).toBe(before);
  });

  it('control: one Host field is answered', async () => {
    const answer = await rawRequest(origin, '/api/open/x');
    expect(answer.status).toBe(200);
  });
});
