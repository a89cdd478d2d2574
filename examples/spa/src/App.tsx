import { useEffect } from 'react';
import { DemoApi } from './components/DemoApi';
import { Devices } from './components/Devices';
import { ExpiryNotice } from './components/ExpiryNotice';
import { Profile } from './components/Profile';
import { ProtectedFiles } from './components/ProtectedFiles';
import { SignIn } from './components/SignIn';
import { SignOut } from './components/SignOut';
import { gatehouse } from './gatehouse';
import { useSession } from './useSession';

/** Query parameters the gateway adds to the sign-in page; gone once signed in. */
const SIGN_IN_PARAMS = ['returnTo', 'login_error'];

export function App() {
  const { state, expiring, ended, error, retry } = useSession(gatehouse);

  useEffect(() => {
    if (state.status !== 'signed-in') return;
    const url = new URL(location.href);
    if (!SIGN_IN_PARAMS.some((p) => url.searchParams.has(p))) return;
    for (const p of SIGN_IN_PARAMS) url.searchParams.delete(p);
    history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }, [state.status]);

  return (
    <>
      <header>
        <h1>Gatehouse demo</h1>
        <p className="tag">An SPA with no tokens in the browser: one HttpOnly cookie, one origin.</p>
      </header>
      <main>
        <p id="status" role="status">
          {state.status === 'signed-in' ? 'Signed in.' : state.status === 'signed-out' ? 'Signed out.' : 'Loading…'}
        </p>
        {error && (
          <p id="gateway-error" className="error" role="alert">
            {error.message} <button type="button" onClick={retry}>Try again</button>
          </p>
        )}
        {state.status === 'signed-out' && <SignIn ended={ended} />}
        {state.status === 'signed-in' && (
          <section id="signed-in">
            <ExpiryNotice expiring={expiring} />
            <Profile session={state.session} />
            <DemoApi />
            <ProtectedFiles />
            <Devices sessionId={state.session.id} />
            <SignOut />
          </section>
        )}
      </main>
    </>
  );
}
