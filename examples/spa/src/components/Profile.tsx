import type { GatehouseSession } from '@gatehouse/client';

const time = (date: Date) => date.toLocaleString();

/** Who is signed in, the claims the gateway passes on, and the session's expiries. */
export function Profile({ session }: { session: GatehouseSession }) {
  const { user } = session;
  return (
    <>
      <h2>
        Signed in as <span id="user-name">{user.name ?? user.username ?? user.id}</span>
      </h2>
      <dl>
        <dt>User id</dt>
        <dd id="user-id">{user.id}</dd>
        <dt>Roles</dt>
        <dd id="user-roles">{user.roles.join(', ') || '(none)'}</dd>
        <dt>Signed in with</dt>
        <dd id="user-provider">{session.provider === 'local' ? 'username and password' : session.provider}</dd>
        <dt>Session expires</dt>
        <dd id="session-expires">{time(session.expiresAt)}</dd>
      </dl>
      <details open>
        <summary>Claims</summary>
        <pre id="claims">{JSON.stringify(user, null, 2)}</pre>
      </details>
    </>
  );
}
