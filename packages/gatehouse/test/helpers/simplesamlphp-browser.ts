/**
 * A user agent for the SimpleSAMLphp test IdP, with plain fetch: manual redirects, a small cookie
 * jar, and HTML form parsing. It walks the IdP's own pages and stops where the IdP hands the user
 * back to the SP — an auto-submitting POST form (the Response) or a redirect off the IdP's origin
 * (a LogoutRequest or LogoutResponse) — so the test delivers that to the SP itself.
 */

/** Cookies per origin (`http://host:port`). Path, expiry and flags are ignored: enough for one IdP. */
export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq <= 0) continue;
      const jar = this.byOrigin.get(origin) ?? new Map<string, string>();
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      // SimpleSAMLphp deletes a cookie by setting it to "deleted" with a past expiry.
      if (value === '' || value === 'deleted' || /max-age=0|expires=thu, 01[- ]jan[- ]1970/i.test(header)) jar.delete(name);
      else jar.set(name, value);
      this.byOrigin.set(origin, jar);
    }
  }

  header(url: string): string | undefined {
    const jar = this.byOrigin.get(new URL(url).origin);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** The cookie names held for `url`'s origin (for assertions). */
  names(url: string): string[] {
    return [...(this.byOrigin.get(new URL(url).origin)?.keys() ?? [])];
  }
}

/** The auto-submitting form the IdP answers with: where it posts, and what. */
export interface IdpPostForm {
  action: string;
  SAMLResponse: string;
  RelayState?: string;
}

interface HtmlForm {
  action: string;
  method: string;
  fields: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#039': "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower in ENTITIES) return ENTITIES[lower] as string;
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number.parseInt(lower.slice(1), 10));
    return whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    found[(match[1] as string).toLowerCase()] = decodeEntities(match[3] ?? match[4] ?? '');
  }
  return found;
}

/** Every `<form>` of a page, its action resolved against `pageUrl`, with its named inputs' values. */
export function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const formAttributes = attributes(match[1] as string);
    const fields: Record<string, string> = {};
    for (const input of (match[2] as string).matchAll(/<input\b[^>]*>/gi)) {
      const field = attributes(input[0]);
      if (field.name !== undefined && !field.disabled) fields[field.name] = field.value ?? '';
    }
    forms.push({ action: new URL(formAttributes.action ?? '', pageUrl).href, method: (formAttributes.method ?? 'get').toLowerCase(), fields });
  }
  return forms;
}

/** Where a walk through the IdP ended: one of its pages, or a redirect leaving its origin. */
export type IdpStop = { kind: 'page'; url: string; status: number; html: string } | { kind: 'left'; location: string };

/**
 * Requests `url` and follows redirects while they stay on `url`'s origin (the IdP). Stops at a
 * page (any non-redirect answer) or at the first redirect to another origin, returned unfollowed.
 */
export async function walkIdp(url: string, jar: CookieJar, init: { method?: string; form?: Record<string, string> } = {}): Promise<IdpStop> {
  const idpOrigin = new URL(url).origin;
  let current = url;
  let method = init.method ?? (init.form ? 'POST' : 'GET');
  let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
  for (let hop = 0; hop < 20; hop++) {
    const headers: Record<string, string> = {};
    const cookie = jar.header(current);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(current, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    jar.store(current, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, current).href;
      if (new URL(next).origin !== idpOrigin) return { kind: 'left', location: next };
      current = next;
      // 307/308 keep the method and body; the IdP's 302/303 become GETs, as in a browser.
      if (response.status !== 307 && response.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    return { kind: 'page', url: current, status: response.status, html: await response.text() };
  }
  throw new Error(`more than 20 redirects from ${url}`);
}

/**
 * What a page says, shortened, for error messages: the innermost exception of a SimpleSAMLphp
 * error page ("Caused by: …", without the backtrace), else the page's visible text.
 */
function pageText(html: string): string {
  const text = decodeEntities(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
  const causes = [...text.matchAll(/Caused by: (.*?)(?= Backtrace:| Caused by:|$)/g)].map((match) => match[1]);
  return (causes.at(-1) ?? text).slice(0, 600);
}

/** A URL without its query (SAMLRequest values are long and say nothing in an error message). */
function short(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

function samlResponseForm(page: IdpStop): IdpPostForm | undefined {
  if (page.kind !== 'page') return undefined;
  const form = parseForms(page.html, page.url).find((candidate) => candidate.fields.SAMLResponse !== undefined);
  if (!form) return undefined;
  return { action: form.action, SAMLResponse: form.fields.SAMLResponse as string, ...(form.fields.RelayState !== undefined ? { RelayState: form.fields.RelayState } : {}) };
}

/**
 * Follows the SP's AuthnRequest redirect (`…/SSOService.php?SAMLRequest=…`) to the login form,
 * submits the credentials, and returns the IdP's auto-submit form. With a jar that already holds
 * an IdP session, the login form is skipped (SSO) and the credentials are unused.
 * Throws when the IdP answers anything else (wrong password: its login form again, with the error).
 */
export async function signInAtIdp(redirectUrlFromSp: string, username: string, password: string, jar = new CookieJar()): Promise<IdpPostForm> {
  const first = await walkIdp(redirectUrlFromSp, jar);
  const already = samlResponseForm(first);
  if (already) return already;
  if (first.kind !== 'page') throw new Error(`the IdP redirected away (${first.location}) instead of showing its login form`);
  const login = parseForms(first.html, first.url).find((form) => 'password' in form.fields);
  if (!login?.fields.AuthState) throw new Error(`no login form at ${short(first.url)} (HTTP ${first.status}): ${pageText(first.html)}`);
  const answer = await walkIdp(login.action, jar, { form: { ...login.fields, username, password } });
  const form = samlResponseForm(answer);
  if (form) return form;
  if (answer.kind === 'left') throw new Error(`the IdP redirected to ${answer.location} instead of posting a SAMLResponse`);
  throw new Error(`the IdP did not answer with a SAMLResponse (HTTP ${answer.status} at ${short(answer.url)}): ${pageText(answer.html)}`);
}

/** The IdP-initiated (unsolicited) SSO URL for `spEntityId`: pass it to `signInAtIdp`. */
export function idpInitiatedSignInUrl(ssoUrl: string, spEntityId: string, relayState?: string): string {
  const url = new URL(ssoUrl);
  url.searchParams.set('spentityid', spEntityId);
  if (relayState !== undefined) url.searchParams.set('RelayState', relayState);
  return url.href;
}

/** Follows a URL into the IdP and returns the redirect it sends the user off with; throws on a page. */
export async function finishAtIdp(url: string, jar: CookieJar): Promise<string> {
  const stop = await walkIdp(url, jar);
  if (stop.kind === 'left') return stop.location;
  throw new Error(`the IdP answered HTTP ${stop.status} at ${short(stop.url)} instead of redirecting: ${pageText(stop.html)}`);
}

/**
 * SP-initiated logout: follows the SP's LogoutRequest redirect (`…/SingleLogoutService.php?SAMLRequest=…`)
 * with the user's IdP cookies and returns the redirect back to the SP's SLO URL (carrying the
 * LogoutResponse, `SAMLResponse=…`).
 */
export function logOutAtIdp(logoutRedirectFromSp: string, jar: CookieJar): Promise<string> {
  return finishAtIdp(logoutRedirectFromSp, jar);
}

/**
 * IdP-initiated logout of the user's IdP session: returns the redirect to the SP's SLO URL carrying
 * the IdP's LogoutRequest (`SAMLRequest=…`). Deliver it to the SP, then pass the SP's
 * LogoutResponse redirect to `finishAtIdp`, which returns `returnTo` once the IdP accepts it.
 * `returnTo`'s host must be trusted (the ACS and SLO hosts are; see `trustedUrlDomains`).
 */
export function startIdpInitiatedLogout(sloUrl: string, jar: CookieJar, returnTo: string): Promise<string> {
  const url = new URL(sloUrl);
  url.searchParams.set('ReturnTo', returnTo);
  return finishAtIdp(url.href, jar);
}
