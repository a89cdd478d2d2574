import * as client from 'openid-client';
import { GatehouseError } from '../errors.js';

export interface ProviderFailure {
  code: 'login_failed' | 'provider_unavailable';
  reason: string;
}

/**
 * The failures that say something about the provider's availability rather than about its
 * answer: timeouts, refused or reset connections, 5xx statuses (RFC 9110 §15.6) — all temporary,
 * so `provider_unavailable` (502, "try again shortly") is the honest code. Also unwraps the
 * {@link GatehouseError}s our own fetch layer throws (an oversized answer is `login_failed`),
 * which openid-client hands on wrapped in a `ClientError`. Undefined for everything else (the
 * caller decides: usually `login_failed`, the answer could not be verified).
 */
export function providerFailure(error: unknown): ProviderFailure | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof GatehouseError && (e.code === 'login_failed' || e.code === 'provider_unavailable')) {
      return { code: e.code, reason: e.message };
    }
    if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
      return { code: 'provider_unavailable', reason: 'provider request timed out' };
    }
    if (e instanceof client.ClientError && (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT')) {
      return { code: 'provider_unavailable', reason: 'provider request timed out' };
    }
    // undici: "fetch failed" (ECONNREFUSED, ECONNRESET, DNS, TLS), the cause says which.
    if (e instanceof TypeError && e.message === 'fetch failed') {
      const cause = (e.cause as { code?: string; message?: string } | undefined) ?? {};
      return { code: 'provider_unavailable', reason: `fetch failed (${cause.code ?? cause.message ?? 'network error'})` };
    }
    const status = statusOf(e);
    if (status !== undefined && status >= 500) return { code: 'provider_unavailable', reason: `provider answered ${status}` };
  }
  return undefined;
}

/** The HTTP status of an openid-client error about a response: on the error, or its cause (the Response). */
function statusOf(e: unknown): number | undefined {
  if (e instanceof client.ResponseBodyError) return e.status;
  if (e instanceof client.ClientError && e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    const status = (e.cause as { status?: unknown } | undefined)?.status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}
