import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { TRANSACTION_COOKIE_MAX_AGE_SECONDS, transactionCookie, transactionCookiePrefix } from '../cookies/definitions.js';
import type { RequestCookies } from '../cookies/request-cookies.js';
import { expireCookie, serializeCookie } from '../cookies/set-cookie.js';
import type { Coordination } from '../backends/coordination/types.js';
import type { KeyRing } from '../keys/keyring.js';
import { seal, unseal } from '../keys/seal.js';

/** What the browser carries between `/auth/login` and `/auth/callback`: encrypted, never readable by it. */
export interface LoginTransaction {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAt: number;
}

/** A login that takes longer than this starts again: as long as its cookie lives (cookies/definitions.ts). */
export const TRANSACTION_TTL_MS = TRANSACTION_COOKIE_MAX_AGE_SECONDS * 1000;

/** Logins in flight per browser (tabs signing in at once); a further start evicts the oldest. */
export const MAX_TRANSACTIONS = 5;

/**
 * Bytes (`name=value`) all transaction cookies of a browser may take together. A `Cookie` header
 * line must stay well under the 8 KB many proxies accept per header line and Node's 16 KB for all
 * headers, next to the session cookie and the application's own. A typical transaction is ~500
 * bytes (five fit); one with a 2 KB `returnTo` is ~3.2 KB and then evicts the others.
 */
export const TRANSACTION_COOKIE_BUDGET = 4096;

/**
 * How long a used transaction's mark is kept: its whole lifetime, plus a margin for clock skew
 * between instances (each judges `expiresAt` by its own clock). The same for every mark, so the
 * in-memory backend sees marks expire in the order they were made and reclaims them in O(1).
 */
export const USED_MARK_TTL_MS = TRANSACTION_TTL_MS + 60_000;

/** Cookies read when a login starts; more than this are cleared unread (no one has that many tabs). */
const MAX_SCANNED = 2 * MAX_TRANSACTIONS;

/**
 * The login-transaction cookies, one per login in flight, so several tabs can sign in at once
 * (one shared cookie name lets each login overwrite the last, and then every tab fails: oauth2-proxy
 * #611, #817, #3258). Each is named after its `state` (`__Host-<session cookie>-tx-<hash of state>`),
 * so a callback finds its own transaction by the `state` the provider returns, and clears only that
 * cookie. `__Host-` prefixed, HttpOnly, Secure, and SameSite=Lax (the provider's redirect back is a
 * cross-site top-level navigation, which Strict would strip; RFC 6265bis §8.8.2), as defined in
 * cookies/definitions.ts. The value is a JWE, so the PKCE verifier and nonce stay secret and cannot be forged.
 *
 * Single use across every instance: the callback marks the transaction used in the shared
 * coordination state before the code is exchanged; a second callback with the same transaction,
 * on any instance, is refused and never reaches the provider (a provider that sees an
 * authorization code twice revokes the tokens it issued for it: RFC 6749 §4.1.2, RFC 9700 §4.5).
 */
export class TransactionCookie {
  /** The prefix every transaction cookie name starts with. */
  readonly prefix: string;

  constructor(
    sessionCookieName: string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {
    this.prefix = transactionCookiePrefix(sessionCookieName);
  }

  /** The cookie name of the transaction with this `state`: 96 bits of its SHA-256, base64url. */
  nameFor(state: string): string {
    return `${this.prefix}${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
  }

  /**
   * The `Set-Cookie` values that start a login: the new transaction's cookie, plus expiries for
   * the transactions it evicts — the oldest beyond {@link MAX_TRANSACTIONS} or the byte budget,
   * and any that are expired, forged or unreadable.
   */
  async create(tx: Omit<LoginTransaction, 'expiresAt'>, cookies: RequestCookies): Promise<string[]> {
    const now = this.clock();
    const value = await seal(this.keys, 'login-transaction', { ...tx, expiresAt: now + TRANSACTION_TTL_MS });
    const name = this.nameFor(tx.state);
    const created = serializeCookie(transactionCookie(name), value);
    const evicted: string[] = [];
    const live: { name: string; bytes: number; expiresAt: number }[] = [];
    let scanned = 0;
    for (const [other, otherValue] of cookies.startingWith(this.prefix)) {
      if (other === name) continue;
      const open = ++scanned <= MAX_SCANNED ? await this.open(otherValue) : null;
      if (open && open.expiresAt > now) live.push({ name: other, bytes: other.length + 1 + otherValue.length, expiresAt: open.expiresAt });
      else evicted.push(other);
    }
    // Oldest first: every transaction lives the same TTL, so the earliest expiry started first.
    live.sort((a, b) => a.expiresAt - b.expiresAt);
    let bytes = name.length + 1 + value.length + live.reduce((sum, c) => sum + c.bytes, 0);
    while (live.length > 0 && (live.length + 1 > MAX_TRANSACTIONS || bytes > TRANSACTION_COOKIE_BUDGET)) {
      const oldest = live.shift() as (typeof live)[number];
      bytes -= oldest.bytes;
      evicted.push(oldest.name);
    }
    return [...evicted.map((n) => this.expire(n)), created];
  }

  /** Expires the cookie of the transaction with this `state` (only that one: other tabs' logins go on). */
  clear(state: string): string {
    return this.expire(this.nameFor(state));
  }

  /**
   * The live transaction for the callback's `state`, consumed: the cookie named for that state is
   * opened, must hold that very state and be unexpired, and is then marked used in `marks` (the
   * coordination state every instance shares). Null when there is no such transaction, or when it
   * was used already — by this instance or another. Rejects (StoreUnavailableError) when the
   * coordination backend cannot answer: the caller must fail closed, never exchange the code.
   */
  async consume(cookies: RequestCookies, state: string, marks: Pick<Coordination, 'claimOnce'>): Promise<LoginTransaction | null> {
    const value = cookies.first(this.nameFor(state));
    if (!value) return null;
    const tx = await this.open(value);
    if (!tx || tx.state !== state || !(tx.expiresAt > this.clock())) return null;
    // Atomic in every backend (SET NX / INSERT … ON CONFLICT): of two concurrent callbacks with
    // this transaction, on any instances, exactly one gets true.
    if (!(await marks.claimOnce(`login-tx:${state}`, USED_MARK_TTL_MS))) return null;
    return tx;
  }

  private async open(value: string): Promise<LoginTransaction | null> {
    const tx = await unseal<LoginTransaction>(this.keys, 'login-transaction', value);
    if (!tx || typeof tx.state !== 'string' || typeof tx.expiresAt !== 'number') return null;
    return tx;
  }

  private expire(name: string): string {
    return expireCookie(transactionCookie(name));
  }
}
