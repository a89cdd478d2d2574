import { useState } from 'react';
import { gatehouse } from '../gatehouse';

/** Sign-out: the SDK ends the session and, for a federated one, goes on to the provider's logout. */
export function SignOut() {
  const [error, setError] = useState('');
  return (
    <>
      <button type="button" id="logout" onClick={() => gatehouse.logout().catch((e: Error) => setError(e.message))}>
        Sign out
      </button>
      {error && <p className="error">{error}</p>}
    </>
  );
}
