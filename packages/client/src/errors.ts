/**
 * Error codes the gateway answers with (its `docs/errors.md`), plus three of the client's own:
 * `network_error` (no answer: offline, DNS, TLS, aborted), `invalid_response` (an answer that is
 * not the gateway's JSON) and `unexpected_redirect` (a redirect where the gateway never sends one).
 */
export type GatehouseErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'password_rejected'
  | 'unauthenticated'
  | 'invalid_credentials'
  | 'csrf_rejected'
  | 'cross_site_rejected'
  | 'forbidden'
  | 'not_found'
  | 'unknown_provider'
  | 'session_not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'login_throttled'
  | 'server_busy'
  | 'store_unavailable'
  | 'internal_error'
  | 'provider_unavailable'
  | 'network_error'
  | 'invalid_response'
  | 'unexpected_redirect'
  // Codes added by a newer gateway still arrive, typed as plain strings.
  | (string & {});

/**
 * Thrown by the client's typed methods (`login`, `sessions`, `logout`, …) when the gateway refuses
 * or cannot be reached. Branch on {@link code}, not on the message. {@link GatehouseClient.fetch}
 * never throws this for an HTTP status: it resolves with the Response, like `fetch`.
 */
export class GatehouseClientError extends Error {
  /** Stable code: the gateway's `error` field, or one of the client's own. */
  readonly code: GatehouseErrorCode;
  /** HTTP status of the answer; 0 when there was none (`network_error`). */
  readonly status: number;
  /** Seconds to wait before retrying (`Retry-After`), on `login_throttled`, `server_busy` and `store_unavailable`. */
  readonly retryAfter: number | undefined;

  constructor(code: GatehouseErrorCode, status: number, message: string, options: { retryAfter?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseClientError';
    this.code = code;
    this.status = status;
    this.retryAfter = options.retryAfter;
  }
}
