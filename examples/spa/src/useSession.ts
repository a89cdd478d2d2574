import type { ExpiringEvent, GatehouseClient, GatehouseState, SignedOutEvent } from '@gatehouse/client';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';

/** What a component needs to render the session. */
export interface SessionView {
  state: GatehouseState;
  /** Set while the absolute expiry is near (the client's `expiring` event); null otherwise. */
  expiring: ExpiringEvent | null;
  /** Why the session this page had ended (null at start-up and after a new sign-in). */
  ended: SignedOutEvent | null;
  /** The gateway could not answer (offline, 503): the state is unknown, not signed out. */
  error: Error | null;
  /** Asks the gateway again. */
  retry(): void;
}

/** Class on <html> while a page restored from the back/forward cache is being re-checked. */
export const RESTORING_CLASS = 'restoring';

/**
 * A thin React binding of `@gatehouse/client` (kept in the example, not in the SDK: the SDK has
 * no framework). The state comes from the client through useSyncExternalStore, so every
 * component sees the same session and a sign-out anywhere re-renders everything at once.
 */
export function useSession(client: GatehouseClient): SessionView {
  const subscribe = useCallback((onChange: () => void) => client.on('change', onChange), [client]);
  const state = useSyncExternalStore(subscribe, () => client.state);
  const [expiring, setExpiring] = useState<ExpiringEvent | null>(null);
  const [ended, setEnded] = useState<SignedOutEvent | null>(null);
  const [error, setError] = useState<Error | null>(null);
  // A sign-out is news only when this page had a session; "not signed in" at start-up is not.
  const hadSession = useRef(false);

  const ask = useCallback(
    (fresh: boolean) => {
      setError(null);
      (fresh ? client.refreshSession() : client.session()).catch((e: unknown) => setError(e as Error));
    },
    [client],
  );

  useEffect(() => {
    hadSession.current = client.state.status === 'signed-in';
    const offs = [
      client.on('change', (next) => {
        if (next.status !== 'signed-in') return;
        hadSession.current = true;
        setEnded(null);
        setExpiring((current) => (current && current.session.id !== next.session.id ? null : current));
      }),
      client.on('expiring', setExpiring),
      client.on('signedout', (event) => {
        setExpiring(null);
        if (hadSession.current) setEnded(event);
        hadSession.current = false;
      }),
    ];
    ask(false);

    // Back/forward cache: a page restored from it is the DOM as it was when the user left, maybe
    // signed in, while the session may have ended since. pagehide hides the page before it is
    // frozen; pageshow asks the gateway (GET /auth/session is no-store) and only then shows it.
    // refreshSession() never answers with a request sent before the call, so not with one that
    // was on its way when the page was frozen: the answer is from after the restore.
    const onHide = (event: PageTransitionEvent) => {
      if (event.persisted) document.documentElement.classList.add(RESTORING_CLASS);
    };
    const onShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      client
        .refreshSession()
        .catch((e: unknown) => setError(e as Error))
        .finally(() => document.documentElement.classList.remove(RESTORING_CLASS));
    };
    window.addEventListener('pagehide', onHide);
    window.addEventListener('pageshow', onShow);
    return () => {
      for (const off of offs) off();
      window.removeEventListener('pagehide', onHide);
      window.removeEventListener('pageshow', onShow);
    };
  }, [client, ask]);

  return { state, expiring, ended, error, retry: () => ask(true) };
}
