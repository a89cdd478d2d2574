/**
 * Which request headers a browser may never hand an upstream, by family. Matched by pattern
 * (prefixes and name tokens), never by a list of exact names: a denylist of names is always one
 * spelling short (`X-User` beside `X-Remote-User`, `X_Gatehouse_User` beside `X-Gatehouse-User`).
 * Pure functions over lower-case names (Node lower-cases request header names), shared by the
 * runtime policy (`headers.ts`) and the config check of `apis[].forwardHeaders`.
 *
 * @see OWASP ASVS 5.0 V4.1 (intermediaries: headers the gateway asserts must not be client-supplied)
 * @see RFC 7239 §8.1 (Forwarded: a proxy must not trust or relay a client's copy)
 */

/** Why a request header never reaches an upstream as the browser sent it. */
export type HeaderFamily =
  /** A character other than a-z, 0-9 and "-": CGI/WSGI/PHP map "_" (and "."…) to the same variable as "-". */
  | 'invalid_name'
  /** Host, Cookie, Authorization, X-CSRF…, Expect: replaced by the gateway or meant for it. */
  | 'gateway'
  /** Client address, scheme, host or path as a proxy saw it: X-Forwarded-*, Forwarded, X-Real-IP, Via… */
  | 'forwarding'
  /** Who the user is, as a gateway, identity-aware proxy or cloud load balancer asserts it. */
  | 'identity'
  /** The TLS client certificate as a terminating proxy verified it. */
  | 'client_certificate'
  /** Method and URL overrides, and framework-internal routing headers: would bypass the route's method allowlist, path matching or the upstream's middleware. */
  | 'override';

/**
 * Names must be made of letters, digits and "-" only: nginx's `ignore_invalid_headers` rule
 * (with `underscores_in_headers off`, its default). CGI (RFC 3875 §4.1.18), WSGI (PEP 3333) and
 * PHP expose `X-Gatehouse-User` and `X_Gatehouse_User` as the same `HTTP_X_GATEHOUSE_USER`, and
 * the first one wins there: a client's underscore copy would override the gateway's value.
 * Dropped, not refused: that is what nginx in front of the same upstream would do, so an
 * application sees the same request behind either, and a stray header from a client library does
 * not break a page.
 */
const VALID_NAME = /^[a-z0-9-]+$/;

const GATEWAY_FIELDS: ReadonlySet<string> = new Set([
  'host',
  'cookie',
  'authorization',
  'x-csrf',
  'x-csrf-token',
  // The gateway answers 100-continue itself (Node does); undici refuses to send Expect (RFC 9110 §10.1.1).
  'expect',
]);

/**
 * Forwarding and client-address headers (RFC 7239, the de-facto X-Forwarded-* family, and what
 * CDNs and load balancers add). The gateway writes X-Forwarded-For/Proto/Host itself, after
 * stripping, so the upstream sees exactly one value: its own.
 */
const FORWARDING: readonly RegExp[] = [
  /^(forwarded|via|x-host|front-end-https|x-url-scheme|x-scheme)$/, // Via (RFC 9110 §7.6.3): the hops before the gateway are none of the upstream's business
  /^x-forward/, // X-Forwarded-For/-Host/-Proto/-Port/-Prefix/-Ssl/-Scheme/-Server/-Client-Cert/-User…, and the misspellings some stacks read (X-Forward-For, X-Forwarder-For, X-ForwardedFor)
  /^x-original-/, // X-Original-Forwarded-For, -Host, -URL, -URI, -Method (ingress-nginx, IIS)
  /(^|-)ip(v6)?$/, // X-Real-IP, True-Client-IP, Client-IP, X-Client-IP, CF-Connecting-IP(v6), Fastly-Client-IP, X-Cluster-Client-IP, X-AppEngine-User-IP
  /(client|socket|remote|real|peer|source|origin|connecting)ip(v6)?$/, // X-Azure-ClientIP, X-Azure-SocketIP, X-ClientIP
  /(^|-)(client|remote|peer|source)-?(addr|address|port|host)$/, // X-Client-Addr, X-Remote-Port…
  /^x-envoy-/, // Envoy trusts X-Envoy-Internal / -External-Address / -Original-Path from its peers
  /^cf-(connecting-|visitor$|worker$)/, // Cloudflare's view of the client
  /(^|-)forwarded(-|$)/, // CloudFront-Forwarded-Proto, X-Vercel-Forwarded-For, Forwarded-For: "forwarded" anywhere, not only after "x-"
  /^cloudfront-viewer-/, // CloudFront-Viewer-Address (the client's ip:port), -Country, -TLS, -JA3-Fingerprint
  /^cf-ip/, // CF-IPCountry, CF-IPCity…: geolocation Cloudflare derives from the client address
];

/**
 * Identity families: what oauth2-proxy, Pomerium, Authelia, authentik, Vouch, Grafana's auth
 * proxy, Kong, Kubernetes impersonation / request-header authentication, Tailscale, and the
 * cloud identity-aware proxies (AWS ALB OIDC, Azure App Service, Google IAP / API Gateway,
 * Cloudflare Access) assert to their upstreams. Matched by vendor prefix and by identity words
 * anywhere in the name, so `X-User`, `X-User-Id`, `X-Auth-User`, `X-Authenticated-User`,
 * `X-Email`, `X-Roles`, `X-Remote-Groups` are all one family.
 */
const IDENTITY_PREFIXES =
  /^(x-gatehouse-|x-auth-|x-pomerium-|x-authentik-|x-authelia-|x-vouch-|x-webauth-|x-consumer-|x-credential-|x-anonymous-|remote-|x-remote-|impersonate-|tailscale-|x-tailscale-|x-amzn-oidc-|x-ms-client-principal|x-ms-token-|x-goog-authenticated-|x-goog-iap-|x-serverless-authorization|x-endpoint-api-|x-apigateway-api-|cf-access-|oidc-|x-oidc-|shib-|x-shib-|x-iap-)/;
const IDENTITY_WORDS =
  /(^|-)(user|users|username|userid|userinfo|uid|email|emails|role|roles|group|groups|principal|principals|identity|identities|authenticated|auth|authn|authz|authorization|impersonate|webauth|claim|claims|jwt|saml|subject|consumer|credential|credentials|oidc|accesstoken|idtoken)(-|$)/;
const IDENTITY_TOKENS = /(^|-)(access|id|refresh)-token(-|$)/;
/** Browser-set names that merely contain an identity word: `User-Agent` (and gRPC-web's `X-User-Agent`), `Sec-Fetch-User`. */
const NOT_IDENTITY = /(^|-)user-agent$|^sec-fetch-/;

/** TLS client certificates as a terminating proxy saw them: RFC 9440 Client-Cert, X-SSL-Client-*, X-Amzn-Mtls-*, X-ARR-ClientCert… */
const CLIENT_CERTIFICATE: readonly RegExp[] = [
  /(^|-)(ssl|tls|mtls)(-|$)/,
  /(^|-)cert(s|ificate|ificates)?(-|$)/,
  /client-?cert/, // X-Client-Cert, X-Client-CertChain, X-ARR-ClientCert, X-Amzn-Mtls-Clientcert…
  /(^|-)client-(verify|verified|dn|s-dn|i-dn|subject|issuer|serial|fingerprint)(-|$)/,
];

const OVERRIDE = /^(x-http-method-override|x-http-method|x-method-override|x-rewrite-url)$/;
/**
 * Next.js internal routing headers, which its own server trusts from its proxy: a client's
 * `x-middleware-subrequest` skipped the middleware, where apps check the session
 * (CVE-2025-29927); `x-now-route-matches` poisoned the cache (CVE-2024-46982). `x-middleware-prefetch`
 * is sent by Next's browser router itself and only asks for a prefetch answer: kept.
 */
const FRAMEWORK_INTERNAL = /^(x-middleware-(?!prefetch$)|x-invoke-|x-now-route-matches$|x-matched-path$)/;

/**
 * The family a lower-case request header name belongs to, or undefined for an application header
 * the upstream may receive (X-Request-Id, Idempotency-Key, traceparent, Accept*, Content-Type…).
 * Hop-by-hop fields are `headers.ts`'s concern (they depend on the request's Connection header).
 */
export function requestHeaderFamily(name: string): HeaderFamily | undefined {
  if (!VALID_NAME.test(name)) return 'invalid_name';
  if (GATEWAY_FIELDS.has(name)) return 'gateway';
  if (FORWARDING.some((p) => p.test(name))) return 'forwarding';
  if (OVERRIDE.test(name) || FRAMEWORK_INTERNAL.test(name)) return 'override';
  if (IDENTITY_PREFIXES.test(name) || (!NOT_IDENTITY.test(name) && (IDENTITY_WORDS.test(name) || IDENTITY_TOKENS.test(name)))) return 'identity';
  if (CLIENT_CERTIFICATE.some((p) => p.test(name))) return 'client_certificate';
  return undefined;
}

/** One line per family, for config errors and docs. */
export const HEADER_FAMILY_DESCRIPTION: Readonly<Record<HeaderFamily, string>> = {
  invalid_name: 'a header name may only hold letters, digits and "-" (CGI/WSGI upstreams read "_" as "-")',
  gateway: 'the gateway sets or consumes this header itself',
  forwarding: 'a forwarding / client-address header: the gateway writes X-Forwarded-For/Proto/Host itself',
  identity: 'an identity header: only the gateway may say who the user is',
  client_certificate: 'a client-certificate header: only a TLS-terminating proxy may assert one',
  override: 'a method or URL override or a framework-internal routing header: it would bypass the route\'s method and path checks or the upstream\'s middleware',
};

/** Hop-by-hop fields (RFC 9110 §7.6.1) a route could never forward, whatever it lists. */
const HOP_BY_HOP_NAMES = /^(connection|keep-alive|proxy-connection|te|trailer|transfer-encoding|upgrade|proxy-authorization|proxy-authenticate|http2-settings)$/;

/**
 * Why a name cannot be in `apis[].forwardHeaders` (the message of a config problem), or undefined
 * when it can: an allowlist may only narrow the default policy.
 */
export function forwardHeaderProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === 'cookie') return '"Cookie" is never forwarded whole: list the cookie names in forwardCookies instead.';
  if (HOP_BY_HOP_NAMES.test(lower)) return `"${name}" is a hop-by-hop field (RFC 9110 §7.6.1): it belongs to one connection and is never forwarded. Remove it.`;
  const family = requestHeaderFamily(lower);
  if (family === undefined) return undefined;
  return `"${name}" cannot be forwarded from the browser: ${HEADER_FAMILY_DESCRIPTION[family]}. Remove it; an application header needs a name outside the families of docs/upstreams.md.`;
}
