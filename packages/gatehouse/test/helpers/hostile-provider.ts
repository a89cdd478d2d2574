import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import type { SessionRecord } from '../../src/session/model.js';
import { ORIGIN, testGateway, type TestGateway } from './gateway.js';
import { NAVIGATE } from './oidc.js';

/**
 * A HOSTILE OpenID provider for the negative tests: a bare node:http server that answers
 * discovery, JWKS, token, and UserInfo with whatever the test asks for — ID tokens with wrong
 * claims, foreign signatures, `alg: none`, another subject on refresh, an issuer that does not
 * match. Codes are bound to the PKCE `code_challenge` of the login that asked for them, so a code
 * used with another transaction's verifier is refused as a real provider would.
 *
 * There is no authorization endpoint: a test takes state, nonce and code_challenge from the
 * gateway's authorization URL, binds a code with {@link HostileProvider.issueCode}, and calls
 * the gateway's callback itself (see {@link hostileHarness}).
 */

export const HOSTILE_CLIENT_ID = 'gatehouse-hostile';
export const HOSTILE_CLIENT_SECRET = 'hostile-client-secret-0123456789abcdef';
export const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * How a JWT is signed:
 * - `valid`: RS256 with the key published in the JWKS;
 * - `foreign-key`: RS256 with a key NOT in the JWKS, but the header names the published `kid`;
 * - `unknown-kid`: RS256 with a key not in the JWKS, under its own `kid`;
 * - `none`: hand-assembled unsecured JWT (`alg: none`, empty signature);
 * - `hs256-client-secret`: HS256 keyed with the client secret (algorithm confusion).
 */
export type SignMode = 'valid' | 'foreign-key' | 'unknown-kid' | 'none' | 'hs256-client-secret';

export interface JwtSpec {
  /** Claims merged over the defaults; a claim set to `undefined` is removed. */
  claims?: Record<string, unknown>;
  sign?: SignMode;
  /** Extra / replaced protected header parameters; `undefined` removes one. */
  header?: Record<string, unknown>;
}

/** What the token endpoint answers for one authorization code. */
export interface Grant {
  sub: string;
  /** The ID token of the code exchange (defaults: iss, aud, sub, nonce, iat, exp). */
  idToken?: JwtSpec;
  /** `expires_in` of the access token (default 3600). */
  expiresIn?: number;
  /** What UserInfo answers for this grant's access token (default `{ sub }`). */
  userinfo?: Record<string, unknown>;
  /** Token response fields merged over the defaults (e.g. `{ token_type: 'DPoP' }`). */
  tokenFields?: Record<string, unknown>;
  /** Stream a token response this many bytes long (a huge access token) instead of a normal one. */
  hugeTokenResponse?: number;
  /** Stream a UserInfo answer this many bytes long instead of the normal one. */
  hugeUserinfo?: number;
}

/** One body the provider streamed, and how far it got before the client went away. */
export interface StreamRecord {
  path: string;
  /** Bytes the provider meant to send. */
  planned: number;
  /** Bytes handed to the socket before it closed (or all of them). */
  written: number;
  /** True when the whole body was written and the response ended. */
  completed: boolean;
  /** Resolves once the connection is closed (by either side) or the body is complete. */
  done: Promise<void>;
}

/** What the token endpoint answers to a `refresh_token` grant. */
export type RefreshAnswer =
  | { error: string; status?: number }
  | { idToken?: JwtSpec | null; sub?: string; expiresIn?: number; rotate?: boolean; tokenFields?: Record<string, unknown> };

interface BoundCode {
  grant: Grant;
  codeChallenge: string;
  nonce: string;
  redirectUri: string;
}

interface KeyMaterial {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  publicJwk: JWK;
}

async function keyMaterial(kid: string): Promise<KeyMaterial> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * RSA key generation costs ~0.3 s, so keys are made once per test file and reused: two slots,
 * alternating, so the two providers of one harness never share keys. (A third provider in the
 * same harness shares the first one's keys; its issuer still differs.)
 */
const keySets = new Map<number, Promise<{ good: KeyMaterial; foreign: KeyMaterial }>>();
let startedCount = 0;
function keySet(slot: number): Promise<{ good: KeyMaterial; foreign: KeyMaterial }> {
  let set = keySets.get(slot);
  if (!set) {
    set = Promise.all([keyMaterial(`hostile-${slot}-good`), keyMaterial(`hostile-${slot}-foreign`)]).then(([good, foreign]) => ({ good, foreign }));
    keySets.set(slot, set);
  }
  return set;
}

const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface HostileProviderOptions {
  /** 0 (default): any free loopback port. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /** The redirect URI the gateway registers (for the `redirect_uri` check at the token endpoint). */
  redirectUri?: string;
}

export interface TokenRequest {
  grantType: string | null;
  authorization: string | undefined;
  params: URLSearchParams;
}

export class HostileProvider {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Discovery metadata overrides (e.g. another `issuer`); `undefined` removes a field. */
  metadata: Record<string, unknown> = {};
  /** The next N discovery requests are answered 503. */
  failDiscovery = 0;
  /** The answer to each `refresh_token` grant; default: same subject, new tokens, rotation. */
  onRefresh: (grant: Grant, refreshToken: string) => RefreshAnswer = () => ({});
  /** Every token request, newest last. */
  readonly tokenRequests: TokenRequest[] = [];
  discoveryRequests = 0;
  /** When set and it returns an answer, the token endpoint sends that instead (e.g. a 503). */
  onToken: ((params: URLSearchParams) => { status: number; body: unknown } | undefined) | undefined;
  /** Requests to the JWKS endpoint. */
  jwksRequests = 0;
  /** The next N JWKS requests are answered 503 (counted in {@link jwksRequests}). */
  failJwks = 0;
  /** Stream a JWKS this many bytes long instead of the real one. */
  hugeJwks: number | undefined;
  /** Paths (e.g. `/token`) whose requests are never answered: the connection stays open, silent. */
  readonly hang = new Set<string>();
  /** Every body streamed with a huge* option, newest last. */
  readonly streams: StreamRecord[] = [];

  private readonly codes = new Map<string, BoundCode>();
  private readonly accessTokens = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();

  private constructor(
    private readonly server: Server,
    port: number,
    options: HostileProviderOptions,
    private good: KeyMaterial,
    private readonly foreign: KeyMaterial,
    readonly redirectUri: string,
  ) {
    this.port = port;
    this.issuer = `http://127.0.0.1:${port}`;
    this.clientId = options.clientId ?? HOSTILE_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? HOSTILE_CLIENT_SECRET;
    server.on('request', (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
  }

  static async start(options: HostileProviderOptions = {}): Promise<HostileProvider> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const { good, foreign } = await keySet(startedCount++ % 2);
    return new HostileProvider(server, port, options, good, foreign, options.redirectUri ?? `${ORIGIN}/auth/callback/hostile`);
  }

  /**
   * Key rotation: a new signing key under a new `kid`; the JWKS publishes only the new key from
   * now on, and every JWT is signed with it.
   */
  async rotateKey(): Promise<string> {
    this.good = await keyMaterial(`hostile-rotated-${randomBytes(4).toString('hex')}`);
    return this.good.kid;
  }

  /** Binds a fresh code to the PKCE challenge and nonce of one login; the token endpoint answers `grant` for it. */
  issueCode(binding: { codeChallenge: string; nonce: string; redirectUri?: string }, grant: Grant): string {
    const code = randomBytes(16).toString('base64url');
    this.codes.set(code, { grant, codeChallenge: binding.codeChallenge, nonce: binding.nonce, redirectUri: binding.redirectUri ?? this.redirectUri });
    return code;
  }

  /** Signs (or fails to sign) a JWT as this provider. */
  async jwt(claims: Record<string, unknown>, sign: SignMode = 'valid', header: Record<string, unknown> = {}): Promise<string> {
    const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
    const baseHeader: Record<string, unknown> = { alg: 'RS256', kid: this.good.kid };
    if (sign === 'none') {
      const h = prune({ typ: 'JWT', ...header, alg: 'none', kid: undefined });
      return `${b64u(h)}.${b64u(payload)}.`;
    }
    if (sign === 'hs256-client-secret') {
      const h = prune({ ...header, alg: 'HS256', kid: undefined });
      return new SignJWT(payload).setProtectedHeader(h as { alg: string }).sign(new TextEncoder().encode(this.clientSecret));
    }
    const key = sign === 'valid' ? this.good : this.foreign;
    const kid = sign === 'unknown-kid' ? this.foreign.kid : this.good.kid;
    const h = prune({ ...baseHeader, kid, ...header });
    return new SignJWT(payload).setProtectedHeader(h as { alg: string }).sign(key.privateKey);
  }

  /** The ID token of a code exchange: the defaults a correct provider would send, then the spec's overrides. */
  idToken(sub: string, nonce: string | undefined, spec: JwtSpec = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return this.jwt(
      { iss: this.issuer, aud: this.clientId, sub, ...(nonce !== undefined ? { nonce } : {}), iat: now, exp: now + 600, ...spec.claims },
      spec.sign,
      spec.header,
    );
  }

  /**
   * A logout token (OIDC Back-Channel Logout 1.0 §2.4), issued at `now` (ms; default the wall
   * clock, which is what the gateway checks logout tokens against, like openid-client for ID tokens).
   */
  logoutToken(spec: JwtSpec = {}, now = Date.now()): Promise<string> {
    const iat = Math.floor(now / 1000);
    return this.jwt(
      { iss: this.issuer, aud: this.clientId, iat, exp: iat + 120, jti: randomUUID(), events: { [BACKCHANNEL_EVENT]: {} }, ...spec.claims },
      spec.sign,
      { typ: 'logout+jwt', ...spec.header },
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Streams a huge body on `path` and records how far it got. */
  private stream(res: ServerResponse, path: string, prefix: string, fill: number, suffix: string): Promise<void> {
    let finished!: () => void;
    const record: StreamRecord = {
      path,
      planned: Buffer.byteLength(prefix) + fill + Buffer.byteLength(suffix),
      written: 0,
      completed: false,
      done: new Promise<void>((resolve) => {
        finished = resolve;
      }),
    };
    this.streams.push(record);
    return streamBody(res, record, prefix, fill, suffix).finally(() => finished());
  }

  private discovery(): Record<string, unknown> {
    const base = this.issuer;
    return prune({
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks`,
      userinfo_endpoint: `${base}/userinfo`,
      end_session_endpoint: `${base}/session/end`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      ...this.metadata,
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    if (this.hang.has(url.pathname)) return; // never answered; close() ends the connection
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        this.discoveryRequests++;
        if (this.failDiscovery > 0) {
          this.failDiscovery--;
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
          return;
        }
        return json(200, this.discovery());
      case '/jwks':
        this.jwksRequests++;
        if (this.failJwks > 0) {
          this.failJwks--;
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
          return;
        }
        if (this.hugeJwks !== undefined) return this.stream(res, '/jwks', '{"keys":[{"kty":"RSA","kid":"huge","n":"', this.hugeJwks, '","e":"AQAB"}]}');
        return json(200, { keys: [this.good.publicJwk] });
      case '/token':
        return this.token(req, res, json);
      case '/userinfo': {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const grant = token ? this.accessTokens.get(token) : undefined;
        if (!grant) return json(401, { error: 'invalid_token' });
        if (grant.hugeUserinfo !== undefined) {
          return this.stream(res, '/userinfo', `{"sub":${JSON.stringify(grant.sub)},"blob":"`, grant.hugeUserinfo, '"}');
        }
        return json(200, grant.userinfo ?? { sub: grant.sub });
      }
      default:
        return json(404, { error: 'not_found' });
    }
  }

  private async token(req: IncomingMessage, res: ServerResponse, json: (status: number, body: unknown) => void): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    this.tokenRequests.push({ grantType: params.get('grant_type'), authorization: req.headers.authorization, params });
    const override = this.onToken?.(params);
    if (override) return json(override.status, override.body);
    // client_secret_basic: both parts form-urlencoded (RFC 6749 §2.3.1), then base64.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [id, secret] = Buffer.from(basic ?? '', 'base64').toString('utf8').split(':').map(formDecode);
    if (id !== this.clientId || secret !== this.clientSecret) return json(401, { error: 'invalid_client' });

    if (params.get('grant_type') === 'authorization_code') {
      const code = params.get('code') ?? '';
      const bound = this.codes.get(code);
      this.codes.delete(code); // single use, even when the exchange fails
      if (!bound) return json(400, { error: 'invalid_grant', error_description: 'unknown or used code' });
      const verifier = params.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (challenge !== bound.codeChallenge) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      if (params.get('redirect_uri') !== bound.redirectUri) return json(400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
      const body = await this.tokenResponse(bound.grant, await this.idToken(bound.grant.sub, bound.nonce, bound.grant.idToken));
      if (bound.grant.hugeTokenResponse !== undefined) {
        const { access_token: _, ...rest } = body;
        const suffix = `",${JSON.stringify(rest).slice(1)}`;
        return this.stream(res, '/token', '{"access_token":"', bound.grant.hugeTokenResponse, suffix);
      }
      return json(200, body);
    }

    if (params.get('grant_type') === 'refresh_token') {
      const refreshToken = params.get('refresh_token') ?? '';
      const grant = this.refreshTokens.get(refreshToken);
      if (!grant) return json(400, { error: 'invalid_grant', error_description: 'unknown refresh token' });
      const answer = this.onRefresh(grant, refreshToken);
      if ('error' in answer) return json(answer.status ?? 400, { error: answer.error });
      const next: Grant = {
        ...grant,
        sub: answer.sub ?? grant.sub,
        ...(answer.expiresIn !== undefined ? { expiresIn: answer.expiresIn } : {}),
        ...(answer.tokenFields !== undefined ? { tokenFields: answer.tokenFields } : {}),
      };
      if (answer.rotate !== false) this.refreshTokens.delete(refreshToken);
      const idToken = answer.idToken === null ? undefined : await this.idToken(next.sub, undefined, answer.idToken);
      return json(200, await this.tokenResponse(next, idToken, answer.rotate === false ? undefined : 'rotate'));
    }
    return json(400, { error: 'unsupported_grant_type' });
  }

  private async tokenResponse(grant: Grant, idToken: string | undefined, refresh: 'rotate' | undefined = 'rotate'): Promise<Record<string, unknown>> {
    const accessToken = randomBytes(24).toString('base64url');
    this.accessTokens.set(accessToken, grant);
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: grant.expiresIn ?? 3600, ...grant.tokenFields };
    if (idToken !== undefined) body.id_token = idToken;
    if (refresh) {
      const refreshToken = randomBytes(24).toString('base64url');
      this.refreshTokens.set(refreshToken, grant);
      body.refresh_token = refreshToken;
    }
    return body;
  }
}

/**
 * Streams `prefix`, `fill` bytes of "A", `suffix` as one JSON body without a Content-Length
 * (chunked), honouring backpressure: a client that stops reading, or closes the connection, stops
 * the provider, and the {@link StreamRecord} says how far it got.
 */
async function streamBody(res: ServerResponse, record: StreamRecord, prefix: string, fill: number, suffix: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const write = async (chunk: string): Promise<boolean> => {
    if (closed) return false;
    const ok = res.write(chunk);
    record.written += Buffer.byteLength(chunk);
    if (!ok) await drainOrClose(res);
    return !closed;
  };
  const CHUNK = 'A'.repeat(64 * 1024);
  if (!(await write(prefix))) return;
  for (let left = fill; left > 0; left -= CHUNK.length) {
    if (!(await write(left >= CHUNK.length ? CHUNK : CHUNK.slice(0, left)))) return;
  }
  if (!(await write(suffix))) return;
  await new Promise<void>((resolve) => res.end(resolve));
  record.completed = !closed;
}

/** Resolves on the next 'drain' or 'close' of `res`, leaving no listener behind. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function prune(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------------------------------------
// The gateway side: provider "hostile" (and "other", a second hostile provider) on a test gateway.
// ---------------------------------------------------------------------------------------------

/** Headers of a same-origin fetch (an API-style request: refusals are JSON, never redirects). */
export const FETCH = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty' } as const;
/** The provider's redirect back: a cross-site top-level navigation. */
export const CALLBACK_NAVIGATION = { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } as const;

export interface Begun {
  provider: string;
  state: string;
  nonce: string;
  codeChallenge: string;
  /** `__Host-gatehouse-tx-<hash of state>=<value>`: this login's own transaction cookie. */
  txCookie: string;
  authorizationUrl: URL;
}

export interface HostileHarness {
  gw: TestGateway;
  /** Provider "hostile". */
  idp: HostileProvider;
  /** Provider "other": a second hostile provider (for cross-provider cases). */
  other: HostileProvider;
  /** Every log line the gateway wrote (pino JSON), audit events included. */
  logs: Record<string, unknown>[];
  /** Every record the gateway wrote to its session store (creations and replacements). */
  sessionWrites: SessionRecord[];
  /** GET /auth/login?provider=… as a navigation: the authorization request and the transaction cookie. */
  begin(provider?: string, returnTo?: string): Promise<Begun>;
  /** A code at the provider bound to this login's PKCE challenge and nonce. */
  code(begun: Begun, grant: Grant): string;
  /** `code=…&state=…&iss=…` for this login (override or drop a parameter with `undefined`). */
  query(begun: Begun, code: string, params?: Record<string, string | undefined>): string;
  /** GET /auth/callback/<provider>?<query>. */
  callback(provider: string, query: string, cookie: string | undefined, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** One request to the gateway: over the socket with `listen`, else `inject()`. */
  request(req: HarnessRequest): Promise<LightMyRequestResponse>;
  /** A complete successful sign-in; returns the session cookie `name=value`. */
  signIn(sub: string, grant?: Omit<Grant, 'sub'>, provider?: string): Promise<string>;
  close(): Promise<void>;
}

export interface HostileHarnessOptions {
  /** Extra settings of provider "hostile" (e.g. `{ userinfo: true }`). */
  providerConfig?: Record<string, unknown>;
  /** More providers for the gateway (e.g. one on a closed port). */
  extraProviders?: Record<string, unknown>[];
  /** Gateway config overrides. */
  overrides?: Partial<GatehouseConfigInput>;
  /** Runs before the gateway starts (e.g. to set discovery metadata). */
  configure?: (idp: HostileProvider, other: HostileProvider) => void;
  /**
   * Serve the gateway on a real loopback socket and send every harness request (`begin`,
   * `callback`, `request`) over it, instead of `inject()`.
   */
  listen?: boolean;
}

export interface HarnessRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string;
}

export function hostileProviderConfig(idp: HostileProvider, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    allowHttpIssuer: true,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    ...extra,
  };
}

export async function hostileHarness(options: HostileHarnessOptions = {}): Promise<HostileHarness> {
  const [idp, other] = await Promise.all([
    HostileProvider.start({ redirectUri: `${ORIGIN}/auth/callback/hostile` }),
    HostileProvider.start({ redirectUri: `${ORIGIN}/auth/callback/other` }),
  ]);
  options.configure?.(idp, other);
  const logs: Record<string, unknown>[] = [];
  const gw = await testGateway(
    {
      local: { enabled: false },
      providers: [
        hostileProviderConfig(idp, 'hostile', options.providerConfig),
        hostileProviderConfig(other, 'other'),
        ...(options.extraProviders ?? []),
      ] as GatehouseConfigInput['providers'],
      ...options.overrides,
    },
    {
      logger: {
        level: 'info',
        stream: {
          write(line: string) {
            logs.push(JSON.parse(line) as Record<string, unknown>);
          },
        },
      },
    },
  );
  const sessionWrites: SessionRecord[] = [];
  const store = gw.gatehouse.store;
  const set = store.set.bind(store);
  store.set = (record) => {
    sessionWrites.push(record);
    return set(record);
  };
  // Replacements (a refresh's write-back) go through update.
  const update = store.update.bind(store);
  store.update = (record) => {
    sessionWrites.push(record);
    return update(record);
  };
  const providerOf = (id: string) => (id === 'other' ? other : idp);
  let base: string | undefined;
  if (options.listen) {
    await gw.gatehouse.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = gw.gatehouse.app.server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  }
  const send = (req: HarnessRequest): Promise<LightMyRequestResponse> =>
    base ? overSocket(base, req) : gw.inject({ method: req.method as 'GET', url: req.url, headers: req.headers ?? {}, ...(req.payload !== undefined ? { payload: req.payload } : {}) });

  const harness: HostileHarness = {
    gw,
    idp,
    other,
    logs,
    sessionWrites,
    async begin(provider = 'hostile', returnTo = '/dashboard') {
      const res = await send({ method: 'GET', url: `/auth/login?provider=${provider}&returnTo=${encodeURIComponent(returnTo)}`, headers: NAVIGATE });
      if (res.statusCode !== 302) throw new Error(`login start: ${res.statusCode} ${res.body}`);
      const authorizationUrl = new URL(res.headers.location as string);
      const get = (name: string) => {
        const value = authorizationUrl.searchParams.get(name);
        if (!value) throw new Error(`authorization request without ${name}`);
        return value;
      };
      const cookie = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('__Host-gatehouse-tx-'));
      if (!cookie) throw new Error('no transaction cookie');
      return {
        provider,
        state: get('state'),
        nonce: get('nonce'),
        codeChallenge: get('code_challenge'),
        txCookie: cookie.split(';', 1)[0] as string,
        authorizationUrl,
      };
    },
    code(begun, grant) {
      return providerOf(begun.provider).issueCode(
        { codeChallenge: begun.codeChallenge, nonce: begun.nonce, redirectUri: `${ORIGIN}/auth/callback/${begun.provider}` },
        grant,
      );
    },
    query(begun, code, params = {}) {
      const all: Record<string, string | undefined> = { code, state: begun.state, iss: providerOf(begun.provider).issuer, ...params };
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(all)) if (v !== undefined) search.append(k, v);
      return search.toString();
    },
    callback(provider, query, cookie, headers = CALLBACK_NAVIGATION) {
      return send({
        method: 'GET',
        url: `/auth/callback/${provider}${query ? `?${query}` : ''}`,
        headers: { ...headers, ...(cookie ? { cookie } : {}) },
      });
    },
    request: send,
    async signIn(sub, grant = {}, provider = 'hostile') {
      const begun = await harness.begin(provider);
      const res = await harness.callback(provider, harness.query(begun, harness.code(begun, { sub, ...grant })), begun.txCookie);
      const session = [res.headers['set-cookie'] ?? []].flat().find((c) => /^__Host-gatehouse=[^;]/.test(c));
      if (res.statusCode !== 303 || !session) throw new Error(`sign-in failed: ${res.statusCode} ${res.headers.location} ${res.body}`);
      return session.split(';', 1)[0] as string;
    },
    async close() {
      await gw.close();
      await Promise.all([idp.close(), other.close()]);
    },
  };
  return harness;
}

/**
 * One request to a listening gateway over a real socket, answered in the shape of `inject()`'s
 * response (status, headers with `set-cookie` as an array, body, json()).
 */
function overSocket(base: string, req: HarnessRequest): Promise<LightMyRequestResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${base}${req.url}`, { method: req.method, headers: { host: new URL(ORIGIN).host, ...req.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({
          statusCode: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          body,
          payload: body,
          rawPayload: Buffer.concat(chunks),
          json: () => JSON.parse(body),
          cookies: [],
          trailers: {},
          raw: { res, req: outgoing },
        } as unknown as LightMyRequestResponse);
      });
    });
    outgoing.on('error', reject);
    outgoing.end(req.payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Assertions shared by the negative tests.
// ---------------------------------------------------------------------------------------------

/** The Set-Cookie headers that carry a session cookie WITH a value (a created session). */
export function sessionCookiesSet(res: LightMyRequestResponse): string[] {
  return [res.headers['set-cookie'] ?? []].flat().filter((c) => /^__Host-gatehouse=[^;]/.test(c));
}

/** True when the response expires a login-transaction cookie (the callback's own). */
export function clearsTransaction(res: LightMyRequestResponse): boolean {
  return [res.headers['set-cookie'] ?? []].flat().some((c) => /^__Host-gatehouse-tx-[\w-]+=;/.test(c) && /Max-Age=0/i.test(c));
}

/**
 * The exact refusal of a callback: a navigation is sent to the login page with the code, a fetch
 * gets the JSON error; either way no session cookie is set and the transaction cookie is cleared.
 */
export function expectLoginRefused(res: LightMyRequestResponse, code: ErrorCode, style: 'navigation' | 'fetch' = 'navigation'): void {
  if (style === 'navigation') {
    expect({ status: res.statusCode, location: res.headers.location }).toEqual({ status: 303, location: `/?login_error=${code}` });
  } else {
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: ERRORS[code].status, body: { error: code, message: ERRORS[code].message } });
  }
  expect(sessionCookiesSet(res)).toEqual([]);
  expect(clearsTransaction(res)).toBe(true);
}

/** A point in a harness's history: session writes, token requests (both providers), log lines. */
export interface Mark {
  writes: number;
  tokenRequests: number;
  logs: number;
}

export function mark(h: HostileHarness): Mark {
  return { writes: h.sessionWrites.length, tokenRequests: h.idp.tokenRequests.length + h.other.tokenRequests.length, logs: h.logs.length };
}

/**
 * Since `since`: nothing was written to the session store, no `hostile:`/`other:` session exists
 * for `subs`, the code was (or was not) exchanged, and exactly one `login_failed` audit event
 * says why (`reason`).
 */
export async function expectNothingCreated(
  h: HostileHarness,
  since: Mark,
  expected: { subs: string[]; exchanged: boolean; code: ErrorCode; reason: RegExp },
): Promise<void> {
  expect(h.sessionWrites.slice(since.writes)).toEqual([]);
  for (const sub of expected.subs) {
    expect(await h.gw.gatehouse.store.listByUser(`hostile:${sub}`)).toEqual([]);
    expect(await h.gw.gatehouse.store.listByUser(`other:${sub}`)).toEqual([]);
  }
  expect(h.idp.tokenRequests.length + h.other.tokenRequests.length - since.tokenRequests).toBe(expected.exchanged ? 1 : 0);
  const audit = h.logs.slice(since.logs).filter((l) => l.audit === true);
  expect(audit.map((l) => ({ event: l.event, error: l.error }))).toEqual([{ event: 'login_failed', error: expected.code }]);
  expect(String(audit[0]?.reason)).toMatch(expected.reason);
}
