// What really went over the wire to the gateway, from Chromium's DevTools protocol. Playwright's
// own request events hide responses that CORS or CORP blocked, and preflights; CDP shows the
// raw request headers (was the cookie sent?) and the status the gateway answered with.
import { request as httpsRequest } from 'node:https';
import type { BrowserContext, Page } from 'playwright-core';

export interface Exchange {
  seq: number;
  method?: string;
  url?: string;
  preflight: boolean;
  requestHeaders: Record<string, string>;
  status?: number;
  responseHeaders: Record<string, string>;
  error?: string;
  /** The response body as the browser received it (text; base64 for binary), once loaded. */
  body?: string;
}

export interface NetworkLog {
  /** Exchanges with `origin` that reached it (a status came back), in the order they were made. */
  answered(): Exchange[];
  /** One line per answered exchange, e.g. `GET /auth/session → 403`, for exact comparisons. */
  summary(): string[];
  /** Every exchange with `origin`, answered or not (CORS-blocked, aborted), in order. */
  all(): Exchange[];
  /**
   * Resolves once every body asked for so far has arrived. Call it before navigating away: the
   * browser drops a document's response bodies when the next document loads.
   */
  bodiesFetched(): Promise<void>;
}

const lower = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));

export async function recordNetwork(context: BrowserContext, page: Page, origin: string): Promise<NetworkLog> {
  const cdp = await context.newCDPSession(page);
  const exchanges = new Map<string, Exchange>();
  const pendingBodies = new Set<Promise<void>>();
  let seq = 0;
  const get = (id: string): Exchange => {
    let e = exchanges.get(id);
    if (!e) {
      e = { seq: Number.MAX_SAFE_INTEGER, preflight: false, requestHeaders: {}, responseHeaders: {} };
      exchanges.set(id, e);
    }
    return e;
  };
  // Extra-info events may arrive before or after the main ones: merge by request id.
  cdp.on('Network.requestWillBeSent', (event) => {
    const e = get(event.requestId);
    e.seq = seq++;
    e.method = event.request.method;
    e.url = event.request.url;
    e.preflight = event.initiator.type === 'preflight';
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (event) => {
    Object.assign(get(event.requestId).requestHeaders, lower(event.headers));
  });
  cdp.on('Network.responseReceivedExtraInfo', (event) => {
    const e = get(event.requestId);
    e.status = event.statusCode;
    Object.assign(e.responseHeaders, lower(event.headers));
  });
  cdp.on('Network.loadingFailed', (event) => {
    get(event.requestId).error = [event.errorText, event.corsErrorStatus?.corsError, event.blockedReason].filter(Boolean).join(' ');
  });
  // Bodies, so a test can search every answer for a token. Fetched while the page still holds them.
  cdp.on('Network.loadingFinished', (event) => {
    const e = get(event.requestId);
    if (!e.url?.startsWith(`${origin}/`)) return;
    const fetched: Promise<void> = cdp.send('Network.getResponseBody', { requestId: event.requestId }).then(
      (r) => {
        e.body = r.body;
      },
      () => undefined,
    );
    pendingBodies.add(fetched);
    void fetched.finally(() => pendingBodies.delete(fetched));
  });
  // WebSockets have events of their own; the handshake is recorded like a request (wss: → https:).
  const http = (url: string) => url.replace(/^ws(s?):/, 'http$1:');
  cdp.on('Network.webSocketCreated', (event) => {
    const e = get(event.requestId);
    e.seq = seq++;
    e.method = 'WEBSOCKET';
    e.url = http(event.url);
  });
  cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => {
    Object.assign(get(event.requestId).requestHeaders, lower(event.request.headers));
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
    const e = get(event.requestId);
    e.status = event.response.status;
    Object.assign(e.responseHeaders, lower(event.response.headers));
  });
  // A refused handshake (anything but 101) gets no response event, only this message: Chromium
  // names the status ("Unexpected response code: 403"), or says "HTTP Authentication failed" for 401.
  cdp.on('Network.webSocketFrameError', (event) => {
    const e = get(event.requestId);
    e.error = event.errorMessage;
    const code = /Unexpected response code: (\d{3})/.exec(event.errorMessage)?.[1];
    if (e.status === undefined && code) e.status = Number(code);
    if (e.status === undefined && /HTTP Authentication failed/.test(event.errorMessage)) e.status = 401;
  });
  await cdp.send('Network.enable');

  const answered = () =>
    [...exchanges.values()]
      .filter((e) => e.url?.startsWith(`${origin}/`) && e.status !== undefined)
      .sort((a, b) => a.seq - b.seq);
  return {
    answered,
    bodiesFetched: async () => {
      while (pendingBodies.size > 0) await Promise.all([...pendingBodies]);
    },
    all: () => [...exchanges.values()].filter((e) => e.url?.startsWith(`${origin}/`)).sort((a, b) => a.seq - b.seq),
    summary: () =>
      answered().map((e) => {
        const path = new URL(e.url ?? '').pathname;
        const allow = e.responseHeaders['access-control-allow-origin'];
        const cors = allow === undefined ? '' : ` (CORS granted to ${allow})`;
        // A preflight's exact status does not matter, only that it grants nothing.
        if (e.preflight) return `preflight ${e.requestHeaders['access-control-request-method']} ${path}${cors}`;
        return `${e.method} ${path} → ${e.status}${cors}`;
      }),
  };
}

/**
 * Sends the request the browser sent once more, byte for byte in its headers (cookie, Origin,
 * Sec-Fetch-*), from Node, and returns the JSON error code the gateway answers. For refusals whose
 * body the browser hides from the page and from DevTools (CORP, ORB): it shows *why* the gateway
 * refused, with exactly the browser's credentials. The body is not resent: every check it
 * proves runs on the headers, before a body is read.
 */
export function replayedError(exchange: Exchange): Promise<string | undefined> {
  const headers = Object.fromEntries(
    Object.entries(exchange.requestHeaders).filter(([name]) => !name.startsWith(':') && name !== 'content-length' && name !== 'connection'),
  );
  return new Promise((resolve, reject) => {
    const req = httpsRequest(exchange.url ?? '', { method: exchange.method, headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { error?: string }).error);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
