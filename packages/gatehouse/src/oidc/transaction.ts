import { parse, serialize } from 'cookie';
import type { Clock } from '../clock.js';
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

/** A login that takes longer than this starts again. */
export const TRANSACTION_TTL_MS = 10 * 60_000;

/**
 * The login-transaction cookie: `__Host-` prefixed, HttpOnly, Secure, and SameSite=Lax (the
 * provider's redirect back is a cross-site top-level navigation, which Strict would strip). Its
 * value is a JWE, so the PKCE verifier and nonce stay secret and cannot be forged. Single use:
 * the callback clears it, and a state seen once is refused again until it would have expired.
 */
export class TransactionCookie {
  readonly name: string;
  private readonly consumed = new Map<string, number>();

  constructor(
    sessionCookieName: string,
    private readonly keys: KeyRing,
    private readonly clock: Clock,
  ) {
    this.name = `${sessionCookieName}-login`;
  }

  async create(tx: Omit<LoginTransaction, 'expiresAt'>): Promise<string> {
    const value = await seal(this.keys, 'login-transaction', { ...tx, expiresAt: this.clock() + TRANSACTION_TTL_MS });
    return serialize(this.name, value, {
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/',
      maxAge: TRANSACTION_TTL_MS / 1000,
    });
  }

  clear(): string {
    return serialize(this.name, '', { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 0, expires: new Date(0) });
  }

  /**
   * The live transaction from a `Cookie` header, consumed: a second read of the same transaction
   * (a replayed callback) returns null.
   */
  async consume(cookieHeader: string | undefined): Promise<LoginTransaction | null> {
    if (!cookieHeader?.includes(this.name)) return null;
    const value = parse(cookieHeader)[this.name];
    if (!value) return null;
    const tx = await unseal<LoginTransaction>(this.keys, 'login-transaction', value);
    const now = this.clock();
    if (!tx || typeof tx.state !== 'string' || !(tx.expiresAt > now)) return null;
    this.forgetExpired(now);
    if (this.consumed.has(tx.state)) return null;
    this.consumed.set(tx.state, tx.expiresAt);
    return tx;
  }

  private forgetExpired(now: number): void {
    if (this.consumed.size < 1000) return;
    for (const [state, expiresAt] of this.consumed) if (expiresAt <= now) this.consumed.delete(state);
  }
}
