// A hostile site: plain node:http(s) pages that attack the gateway from another origin. Each
// page records what it could observe into <pre id="out"> (JSON) and then sets
// document.title = 'done', so the test waits on a signal instead of sleeping.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { freePort } from './gateway.js';

export interface Attacker {
  origin: string;
  close(): Promise<void>;
}

export interface FormField {
  name: string;
  value: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Embeds a value in an inline script (inside <script>, "</" must not appear). */
const js = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>Totally harmless page</h1>${body}</body></html>`;
}

function formPage(target: string, enctype: string, fields: FormField[]): string {
  const inputs = fields.map((f) => `<input type="hidden" name="${escapeHtml(f.name)}" value="${escapeHtml(f.value)}">`).join('');
  return page(
    'form',
    `<form id="attack" method="POST" action="${escapeHtml(target)}" enctype="${escapeHtml(enctype)}">${inputs}</form>
<script>document.getElementById('attack').submit();</script>`,
  );
}

/** Reads and writes the gateway with fetch(); every attempt's outcome goes into #out. */
function fetchPage(gateway: string): string {
  return page(
    'fetch',
    `<pre id="out"></pre>
<script>
const G = ${js(gateway)};
async function attempt(name, path, init) {
  try {
    const response = await fetch(G + path, init);
    let body;
    try { body = await response.text(); } catch (error) { body = 'unreadable: ' + error; }
    return { name, outcome: 'response', type: response.type, status: response.status, body };
  } catch (error) {
    return { name, outcome: 'error', error: String(error) };
  }
}
(async () => {
  const results = [
    await attempt('logout with X-CSRF (preflighted)', '/auth/logout', { method: 'POST', credentials: 'include', headers: { 'x-csrf': '1' } }),
    await attempt('logout, simple request (text/plain)', '/auth/logout', { method: 'POST', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' }),
    await attempt('logout, no-cors urlencoded', '/auth/logout', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }),
    await attempt('revoke other sessions (DELETE, preflighted)', '/auth/sessions', { method: 'DELETE', credentials: 'include', headers: { 'x-csrf': '1' } }),
    await attempt('read /auth/session', '/auth/session', { credentials: 'include' }),
    await attempt('read /auth/sessions', '/auth/sessions', { credentials: 'include' }),
    await attempt('read /api/demo/hello', '/api/demo/hello', { credentials: 'include' }),
    await attempt('read /files/report.txt', '/files/report.txt', { credentials: 'include' }),
  ];
  document.getElementById('out').textContent = JSON.stringify(results);
  document.title = 'done';
})();
</script>`,
  );
}

/** Embeds the protected image; records whether it loaded. */
function imagePage(gateway: string): string {
  return page(
    'image',
    `<pre id="out"></pre>
<script>
const img = new Image();
const report = (event) => {
  document.getElementById('out').textContent = JSON.stringify({ event, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight });
  document.title = 'done';
};
img.onload = () => report('load');
img.onerror = () => report('error');
img.id = 'stolen';
img.src = ${js(`${gateway}/files/gatehouse.svg`)};
document.body.append(img);
</script>`,
  );
}

/** Frames the SPA (clickjacking); records the iframe's load event and whether its document is readable. */
function framePage(gateway: string): string {
  return page(
    'frame',
    `<pre id="out"></pre>
<iframe id="victim" width="600" height="400"></iframe>
<script>
const frame = document.getElementById('victim');
frame.onload = () => {
  let readable;
  try { readable = frame.contentDocument !== null && frame.contentDocument.body !== null; } catch (error) { readable = 'error: ' + error; }
  document.getElementById('out').textContent = JSON.stringify({ event: 'load', readable });
  document.title = 'done';
};
frame.src = ${js(`${gateway}/`)};
</script>`,
  );
}

/**
 * Opens a WebSocket to a proxied API route (cross-site WebSocket hijacking: browsers apply
 * neither CORS nor the page's origin to WebSockets, only the cookie rules). Records every event.
 */
function websocketPage(gateway: string): string {
  return page(
    'websocket',
    `<pre id="out"></pre>
<script>
const events = [];
const finish = () => {
  document.getElementById('out').textContent = JSON.stringify(events);
  document.title = 'done';
};
const socket = new WebSocket(${js(`${gateway.replace(/^http/, 'ws')}/api/demo/hello`)});
socket.onopen = () => { events.push('open'); socket.send('hello?'); };
socket.onmessage = (event) => events.push('message: ' + String(event.data));
socket.onerror = () => events.push('error');
socket.onclose = (event) => { events.push('close ' + event.code); finish(); };
</script>`,
  );
}

/**
 * Includes cookie-protected resources as scripts (cross-site script inclusion, XSSI): a JSON
 * answer run as a script could leak through overridden globals. Records each load/error event.
 */
function scriptPage(gateway: string): string {
  return page(
    'script',
    `<pre id="out"></pre>
<script>
const G = ${js(gateway)};
const paths = ['/auth/session', '/auth/sessions', '/api/demo/hello', '/files/report.txt'];
const events = [];
let pending = paths.length;
for (const path of paths) {
  const script = document.createElement('script');
  script.onload = () => { events.push({ path, event: 'load' }); if (--pending === 0) finish(); };
  script.onerror = () => { events.push({ path, event: 'error' }); if (--pending === 0) finish(); };
  script.src = G + path;
  document.body.append(script);
}
function finish() {
  events.sort((a, b) => paths.indexOf(a.path) - paths.indexOf(b.path));
  document.getElementById('out').textContent = JSON.stringify(events);
  document.title = 'done';
}
</script>`,
  );
}

/**
 * fetch() in mode "no-cors": the browser sends the cookie (same-site) without any preflight and
 * hands the page an opaque response. Reads of protected resources and the simple-request writes
 * a no-cors fetch can make (GET, HEAD, POST with a CORS-safelisted type).
 */
function noCorsPage(gateway: string): string {
  return page(
    'no-cors',
    `<pre id="out"></pre>
<script>
const G = ${js(gateway)};
async function attempt(name, path, init) {
  try {
    const response = await fetch(G + path, { mode: 'no-cors', credentials: 'include', ...init });
    return { name, outcome: 'response', type: response.type, status: response.status, body: await response.text() };
  } catch (error) {
    return { name, outcome: 'error', error: String(error) };
  }
}
(async () => {
  const results = [
    await attempt('read /auth/session', '/auth/session', {}),
    await attempt('read /api/demo/hello', '/api/demo/hello', {}),
    await attempt('read /files/report.txt', '/files/report.txt', {}),
    await attempt('change password (urlencoded)', '/auth/password', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'currentPassword=x&newPassword=attacker-chosen-1' }),
    await attempt('POST to the API (text/plain)', '/api/demo/hello', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
  ];
  document.getElementById('out').textContent = JSON.stringify(results);
  document.title = 'done';
})();
</script>`,
  );
}

/**
 * Opens protected resources in new windows (window.open: a top-level navigation, which the
 * gateway lets through as a link) and tries to read what they show.
 */
function openPage(gateway: string): string {
  return page(
    'open',
    `<pre id="out"></pre>
<script>
const G = ${js(gateway)};
const paths = ['/files/report.txt', '/auth/session'];
const wins = paths.map((path) => window.open(G + path, '_blank'));
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  // Poll until each window has navigated away from about:blank (reading location then throws).
  const results = [];
  for (const [i, win] of wins.entries()) {
    let outcome;
    for (let attempt = 0; attempt < 100; attempt++) {
      if (win === null) { outcome = 'blocked'; break; }
      if (win.closed) { outcome = 'severed'; break; }
      try {
        const href = win.location.href;
        if (href !== 'about:blank') { outcome = { readable: href, text: win.document.body && win.document.body.innerText }; break; }
      } catch (error) {
        outcome = 'unreadable: ' + error.name;
        break;
      }
      await wait(50);
    }
    results.push({ path: paths[i], outcome: outcome ?? 'timeout' });
  }
  document.getElementById('out').textContent = JSON.stringify(results);
  document.title = 'done';
})();
</script>`,
  );
}

/** A top-level navigation of the whole tab to `to` (a link the user was tricked into following). */
function navigatePage(to: string): string {
  return page('navigate', `<script>location.href = ${js(to)};</script>`);
}

/**
 * Serves the attack pages. `tls` (the gateway's own localhost certificate) makes the attacker
 * https://localhost:<port>: another origin but the SAME site as the gateway, so SameSite=Strict
 * does not hold the cookie back and the gateway's own checks are what stops the attack. Without
 * it the attacker is http://127.0.0.1:<port>, a different site altogether.
 */
export async function startAttacker(gateway: string, tls?: { cert: string; key: string }): Promise<Attacker> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://attacker');
    let html: string | undefined;
    if (url.pathname === '/form') {
      const fields = JSON.parse(url.searchParams.get('fields') ?? '[]') as FormField[];
      html = formPage(`${gateway}${url.searchParams.get('path') ?? '/'}`, url.searchParams.get('enctype') ?? '', fields);
    } else if (url.pathname === '/fetch') html = fetchPage(gateway);
    else if (url.pathname === '/image') html = imagePage(gateway);
    else if (url.pathname === '/frame') html = framePage(gateway);
    else if (url.pathname === '/websocket') html = websocketPage(gateway);
    else if (url.pathname === '/script') html = scriptPage(gateway);
    else if (url.pathname === '/no-cors') html = noCorsPage(gateway);
    else if (url.pathname === '/open') html = openPage(gateway);
    else if (url.pathname === '/navigate') html = navigatePage(url.searchParams.get('to') ?? gateway);
    if (html === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  };
  const port = await freePort();
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    origin: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The URL of an auto-submitting form page on the attacker. */
export function formUrl(attacker: Attacker, path: string, enctype: string, fields: FormField[]): string {
  const query = new URLSearchParams({ path, enctype, fields: JSON.stringify(fields) });
  return `${attacker.origin}/form?${query}`;
}

/** The URL of a page on the attacker that sends the whole tab to `to`. */
export function navigateUrl(attacker: Attacker, to: string): string {
  return `${attacker.origin}/navigate?${new URLSearchParams({ to })}`;
}
