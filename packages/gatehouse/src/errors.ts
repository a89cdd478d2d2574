/**
 * Typed errors for untrusted input. Every refusal the gateway sends carries one of these
 * stable codes in `{ "error": code, "message": … }`; `docs/errors.md` lists them and a test
 * keeps that list in step with this registry.
 *
 * Misconfiguration is a different kind of error: {@link ConfigError} and the other
 * {@link BootError}s, thrown at start-up with a code of {@link BOOT_ERRORS}.
 */
export const ERRORS = {
  invalid_request: { status: 400, message: 'The request is malformed.' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  password_rejected: { status: 400, message: 'The new password does not meet the password policy.' },
  login_transaction_invalid: {
    status: 400,
    message: 'The sign-in could not be completed (it expired, was already used, or did not start here). Please sign in again.',
  },
  login_failed: { status: 400, message: "The sign-in provider's answer could not be verified. Please sign in again." },
  login_denied: { status: 400, message: 'The sign-in provider did not sign you in.' },
  invalid_logout_token: { status: 400, message: 'Invalid logout token.' },
  path_rejected: { status: 400, message: 'The request path is not allowed (dot segments, encoded slashes, backslashes or empty segments).' },
  unauthenticated: { status: 401, message: 'Sign-in required.' },
  invalid_credentials: { status: 401, message: 'The username or password is incorrect.' },
  csrf_rejected: {
    status: 403,
    message: 'Cross-site request refused: send the X-CSRF header (or the anti-forgery token) from the same origin.',
  },
  cross_site_rejected: { status: 403, message: 'This resource cannot be loaded from another site.' },
  forbidden: { status: 403, message: 'You do not have access to this resource.' },
  federated_session_required: {
    status: 403,
    message: 'This API needs a sign-in through an identity provider: the session has no access token to forward.',
  },
  not_found: { status: 404, message: 'Not found.' },
  unknown_provider: { status: 404, message: 'No such sign-in provider.' },
  session_not_found: { status: 404, message: 'No such session of yours.' },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: {
    status: 415,
    message: 'Unsupported content type: send application/json or application/x-www-form-urlencoded.',
  },
  login_throttled: { status: 429, message: 'Too many failed sign-in attempts. Try again later.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  internal_error: { status: 500, message: 'Internal error.' },
  session_too_large: {
    status: 500,
    message: 'The session is too large for its cookie (session.cookie.maxBytes). The operator must map fewer claims or roles.',
  },
  upstream_unavailable: { status: 502, message: 'The API behind the gateway cannot be reached. Try again shortly.' },
  upstream_token_unavailable: { status: 502, message: 'The gateway could not obtain credentials for this API. Try again shortly.' },
  provider_unavailable: { status: 502, message: 'The sign-in provider cannot be reached. Try again shortly.' },
  server_busy: { status: 503, message: 'Too many sign-ins in progress. Try again in a moment.' },
  store_unavailable: { status: 503, message: 'The session store is unavailable. Try again shortly.' },
  upstream_timeout: { status: 504, message: 'The API behind the gateway did not answer in time.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error answered to the client with a stable code. Throw it from any route or hook. */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. `Retry-After` on `login_throttled`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, options: { message?: string; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: ErrorCode; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** Thrown by a store when its backend cannot be reached. Mapped to 503 `store_unavailable`: fail closed. */
export class StoreUnavailableError extends GatehouseError {
  constructor(cause?: unknown) {
    super('store_unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** One problem in the configuration: the key (dotted path) and what to do about it. */
export interface ConfigProblem {
  key: string;
  message: string;
}

/**
 * Errors at start-up (and in the CLI commands that open what the gateway opens), before any
 * request: a stable `code` on the thrown error, as HTTP refusals have in {@link ERRORS}. They are
 * never sent to a client. `docs/errors.md` lists them (section "Start-up errors") and a test keeps
 * that list in step with this registry. Branch on `error.code`, not on the message.
 */
export const BOOT_ERRORS = {
  GH_CONFIG_INVALID: 'The configuration file is missing, unreadable or not JSON, or refused by the schema or the checks of unsafe combinations.',
  GH_STORE_URL_INVALID: 'A store URL names no supported store, or is malformed.',
  GH_STORE_OPTIONS_INVALID: 'A store option that is spliced into SQL (PostgreSQL schema, SQLite table name) is not a plain identifier.',
  GH_STORE_OPEN_FAILED: 'A SQLite store file cannot be created or opened.',
  GH_STORE_UNREACHABLE: 'Redis or PostgreSQL did not answer at start-up; the gateway starts anyway and answers 503 store_unavailable until it does.',
  GH_KEYRING_UNREADABLE: 'The key ring (dataDir/keys.json, or keys.ring / GATEHOUSE_KEYS__RING) is not JSON, holds no keys, or holds a malformed key.',
  GH_SIGNING_KEYS_UNREADABLE: 'The signing key file of internal tokens (dataDir/signing-keys.json) is not JSON, holds no keys, or holds a malformed key.',
} as const satisfies Record<`GH_${string}`, string>;

export type BootErrorCode = keyof typeof BOOT_ERRORS;

/** An error at start-up with a stable {@link BOOT_ERRORS} code. The message says what to fix. */
export class BootError extends Error {
  readonly code: BootErrorCode;

  constructor(code: BootErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'BootError';
    this.code = code;
  }
}

/** Misconfiguration found at start-up (`GH_CONFIG_INVALID`). Lists every problem at once; each names its key and the fix. */
export class ConfigError extends BootError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[], source = 'configuration') {
    super('GH_CONFIG_INVALID', `Invalid ${source}:\n${problems.map((p) => `  - ${p.key || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
