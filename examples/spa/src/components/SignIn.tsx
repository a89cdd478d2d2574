import { GatehouseClientError, type GatehouseProvider, isSameOriginPath, type SignedOutEvent } from '@gatehouse/client';
import { type FormEvent, useEffect, useState } from 'react';
import { gatehouse } from '../gatehouse';

/** What the gateway's `?login_error=` codes (a failed federated sign-in) mean to a person. */
const LOGIN_ERRORS: Record<string, string> = {
  login_denied: 'The sign-in provider did not sign you in.',
  login_failed: "The sign-in provider's answer could not be verified. Please try again.",
  login_transaction_invalid: 'That sign-in expired or was already used. Please try again.',
  provider_unavailable: 'The sign-in provider cannot be reached right now.',
  session_too_large: 'Your account carries more roles or claims than this site can keep. Please tell its operator.',
};

const ENDED: Record<SignedOutEvent['reason'], string> = {
  session_expired: 'Your session expired. Please sign in again.',
  unauthenticated: 'You were signed out: this session was ended (from another device, or by the server).',
  revoked: 'You ended this session.',
  logout: 'You signed out.',
};

/**
 * The page to come back to after signing in: the gateway's `returnTo` when it is a path on this
 * origin (anyone can put `?returnTo=/.//evil.example` in a link), or this page without the sign-in
 * parameters. The SDK checks again.
 */
function returnTarget(): string {
  const url = new URL(location.href);
  const returnTo = url.searchParams.get('returnTo');
  if (returnTo && isSameOriginPath(returnTo)) return returnTo;
  url.searchParams.delete('returnTo');
  url.searchParams.delete('login_error');
  return `${url.pathname}${url.search}${url.hash}`;
}

export function SignIn({ ended }: { ended: SignedOutEvent | null }) {
  const loginError = new URLSearchParams(location.search).get('login_error');
  const [error, setError] = useState(loginError ? (LOGIN_ERRORS[loginError] ?? 'Sign-in failed.') : '');
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<GatehouseProvider[]>([]);

  useEffect(() => {
    gatehouse.providers().then(
      (answer) => setProviders(answer.providers),
      () => setProviders([]),
    );
  }, []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError('');
    setBusy(true);
    try {
      // The SDK goes to returnTo only when it is a path on this origin.
      const returnTo = new URLSearchParams(location.search).get('returnTo') ?? undefined;
      await gatehouse.login({ username: String(form.get('username')), password: String(form.get('password')), returnTo });
    } catch (e) {
      setError(e instanceof GatehouseClientError ? e.message : 'Sign-in failed.');
      setBusy(false);
    }
  }

  return (
    <section id="signed-out">
      {ended && (
        <p id="signed-out-reason" className={`notice ${ended.reason}`} role="alert">
          {ENDED[ended.reason]}
        </p>
      )}
      <h2>Sign in</h2>
      <form id="login-form" autoComplete="on" onSubmit={submit}>
        <label>
          Username <input name="username" id="username" autoComplete="username" required />
        </label>
        <label>
          Password <input name="password" id="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" id="login-button" disabled={busy}>
          Sign in
        </button>
        <p id="login-error" className="error" role="alert">
          {error}
        </p>
      </form>
      {providers.length > 0 && (
        <div id="federated">
          <h3>Or sign in with</h3>
          <ul id="provider-list">
            {providers.map((p) => (
              <li key={p.id}>
                {/* A top-level navigation through the gateway to the provider and back: no token ever reaches this page. */}
                <button type="button" className="provider-login" onClick={() => gatehouse.login({ provider: p.id, returnTo: returnTarget() })}>
                  {p.name}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
