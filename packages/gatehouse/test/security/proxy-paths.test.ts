// Attack: reach another path on the upstream (or another upstream) with dots and slashes that
// are not ASCII: fullwidth and leader dots, fullwidth / fraction / division slashes, overlong
// UTF-8, percent-encoded or raw. An upstream that applies NFKC (UAX #15) or a Windows "best fit"
// mapping reads them as "../". Sent byte for byte over a real socket (fetch would re-encode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { login, ORIGIN, SAME_ORIGIN, type TestGateway, testGateway } from '../helpers/gateway.js';
import { type Echo, startEcho } from '../proxy/echo.js';
import { listen, type ProxyFixture, proxyFixture, rawRequest, type DevServerFixture, devServerFixture } from '../proxy/setup.js';

/** Percent-encoded look-alikes, each followed by what an NFKC / best-fit reader makes of it. */
const LOOKALIKES: ReadonlyArray<readonly [string, string]> = [
  ['%ef%bc%8e%ef%bc%8e', 'U+FF0E fullwidth full stop ×2 → ".."'],
  ['%e2%80%a5', 'U+2025 two dot leader → ".."'],
  ['%e2%80%a4%e2%80%a4', 'U+2024 one dot leader ×2 → ".."'],
  ['%ef%b9%92%ef%b9%92', 'U+FE52 small full stop ×2 → ".."'],
  ['%e2%80%a6', 'U+2026 horizontal ellipsis → "..."'],
  ['..%ef%bc%8fsecret', 'U+FF0F fullwidth solidus → "/"'],
  ['..%ef%bc%bcsecret', 'U+FF3C fullwidth reverse solidus → "\\"'],
  ['..%ef%b9%a8secret', 'U+FE68 small reverse solidus → "\\"'],
  ['..%e2%81%84secret', 'U+2044 fraction slash → "/" (confusable)'],
  ['..%e2%88%95secret', 'U+2215 division slash → "/" (best fit)'],
  ['..%e2%88%96secret', 'U+2216 set minus → "\\" (best fit)'],
  ['..%c2%a5secret', 'U+00A5 yen sign → "\\" (cp932 best fit)'],
  ['%e2%84%80', 'U+2100 account of → "a/c"'],
  ['%ef%bc%85%ef%bc%92%ef%bd%85%ef%bc%85%ef%bc%92%ef%bd%85', 'fullwidth "%2e%2e" → "%2e%2e"'],
  ['..%ef%bc%9bx', 'U+FF1B fullwidth semicolon → "..;x"'],
  ['x%ef%bc%9fadmin=1', 'U+FF1F fullwidth question mark → "?"'],
];

/** Overlong UTF-8 (RFC 3629 §3: invalid), which lenient decoders read as ASCII. */
const OVERLONG: ReadonlyArray<readonly [string, string]> = [
  ['%c0%ae%c0%ae', 'overlong ".." '],
  ['..%c0%afsecret', 'overlong "/"'],
  ['%e0%80%ae%e0%80%ae', 'three-byte overlong ".."'],
  ['..%c1%9csecret', 'overlong "\\"'],
];

/** The same characters as raw UTF-8 bytes in the request line. */
const RAW = ['\uff0e\uff0e', '\u2025', '..\uff0fsecret', '..\uff3csecret', '..\u2215secret'];

let f: ProxyFixture;
let origin: string;
let cookie: string;

beforeAll(async () => {
  f = await proxyFixture();
  origin = await listen(f.gw);
  cookie = await login(f.gw, 'alice');
});
afterAll(() => f.close());

/** The HTTP status and `error` code a WebSocket upgrade to `path` gets ("101 open" when it opens). */
function upgradeStatus(path: string): Promise<string> {
  const socket = new WebSocket(`${origin.replace('http', 'ws')}${path}`, { headers: { origin: ORIGIN, cookie } });
  return new Promise<string>((resolve) => {
    socket.once('unexpected-response', (_request, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(`${res.statusCode} ${JSON.parse(body).error}`));
    });
    socket.once('open', () => {
      socket.close();
      resolve('101 open');
    });
    socket.once('error', () => resolve('error'));
  });
}

/** Upstream requests seen by either echo since `before`. */
function reached(before: { echo: number; unlisted: number }): number {
  return f.echo.seen.length - before.echo + (f.unlisted.seen.length - before.unlisted);
}

describe('percent-encoded look-alike dots and slashes (OWASP ASVS 5.0 V1.1.1, RFC 3986 §5.2.4)', () => {
  it.each(LOOKALIKES)('OWASP ASVS 5.0 V1.1.1: %s (%s) is refused with 400 path_rejected; no upstream is reached', async (segment) => {
    const before = { echo: f.echo.seen.length, unlisted: f.unlisted.seen.length };
    for (const route of ['/api/open', '/api/orders']) {
      const res = await rawRequest(origin, `${route}/${segment}/internal-unused/x`, { ...SAME_ORIGIN, cookie });
      expect(res.status, `${route}: ${res.body}`).toBe(400);
      expect(JSON.parse(res.body).error).toBe('path_rejected');
    }
    expect(reached(before)).toBe(0);
  });

  it('OWASP ASVS 5.0 V1.1.1: a WebSocket upgrade with a look-alike path is refused with 400 path_rejected before any upstream is dialled', async () => {
    const before = { echo: f.echo.seen.length, unlisted: f.unlisted.seen.length };
    for (const [segment] of LOOKALIKES) expect(await upgradeStatus(`/api/ws/${segment}/x`), segment).toBe('400 path_rejected');
    expect(reached(before)).toBe(0);
  });

  it('OWASP ASVS 5.0 V1.1.1: non-ASCII text that NFKC leaves without dots or slashes still reaches the upstream byte for byte', async () => {
    for (const segment of ['%e6%97%a5%e6%9c%ac', 'caf%c3%a9', '%ef%bd%81%ef%bd%82%ef%bd%83', 'na%c3%afve.json']) {
      const before = f.echo.seen.length;
      const res = await rawRequest(origin, `/api/open/${segment}`, SAME_ORIGIN);
      expect(res.status, segment).toBe(200);
      expect(f.echo.seen.slice(before).map((s) => s.path)).toEqual([`/base/${segment}`]);
    }
  });
});

describe('overlong UTF-8 (RFC 3629 §3, OWASP ASVS 5.0 V1.1.1)', () => {
  it.each(OVERLONG)('RFC 3629 §3: %s (%s) is refused with 400 before any upstream is reached', async (segment) => {
    const before = { echo: f.echo.seen.length, unlisted: f.unlisted.seen.length };
    for (const route of ['/api/open', '/api/orders']) {
      // The router decodes the path first and refuses invalid UTF-8 itself (FST_ERR_BAD_URL →
      // invalid_request); checkProxyPath would say `malformed_encoding` (path_rejected) next.
      const res = await rawRequest(origin, `${route}/${segment}/x`, { ...SAME_ORIGIN, cookie });
      expect(res.status, `${route}: ${res.body}`).toBe(400);
      expect(['invalid_request', 'path_rejected']).toContain(JSON.parse(res.body).error);
    }
    expect(reached(before)).toBe(0);
  });

  it('RFC 3629 §3: a WebSocket upgrade with an overlong dot or slash is refused with 400 path_rejected', async () => {
    const before = { echo: f.echo.seen.length, unlisted: f.unlisted.seen.length };
    for (const [segment] of OVERLONG) expect(await upgradeStatus(`/api/ws/${segment}/x`), segment).toBe('400 path_rejected');
    expect(reached(before)).toBe(0);
  });
});

describe('raw UTF-8 look-alikes (RFC 9112 §3.2, RFC 3986 §2)', () => {
  it.each(RAW)('RFC 9112 §3.2: raw bytes of %j in the request line are refused with 400 before routing; no upstream is reached', async (segment) => {
    const before = { echo: f.echo.seen.length, unlisted: f.unlisted.seen.length };
    // Node's HTTP parser refuses a request target that is not ASCII, so the refusal is the
    // gateway's malformed-request answer (the router never sees it); checkProxyPath says
    // `non_ascii` for any caller that does not sit behind that parser.
    const res = await rawRequest(origin, `/api/open/${segment}/x`, SAME_ORIGIN);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toBe('invalid_request');
    expect(reached(before)).toBe(0);
  });
});

describe('gatehouse dev: the dev-server upstream (OWASP ASVS 5.0 V1.1.1)', () => {
  let fixture: DevServerFixture;
  beforeAll(async () => {
    fixture = await devServerFixture();
  });
  afterAll(() => fixture.close());

  it('OWASP ASVS 5.0 V1.1.1: look-alike paths are refused with 400 path_rejected and never reach the dev server', async () => {
    const before = fixture.dev.seen.length;
    for (const [segment] of LOOKALIKES) {
      const res = await rawRequest(fixture.origin, `/${segment}/etc/passwd`);
      expect(res.status, segment).toBe(400);
      expect(JSON.parse(res.body).error).toBe('path_rejected');
    }
    expect(fixture.dev.seen.length).toBe(before);
  });
});
