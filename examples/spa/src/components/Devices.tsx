import type { GatehouseDevice } from '@gatehouse/client';
import { useCallback, useEffect, useState } from 'react';
import { gatehouse } from '../gatehouse';

/** A short name for a user agent: enough to tell one's devices apart. */
function browserName(userAgent: string | null): string {
  if (!userAgent) return 'unknown browser';
  const match = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(userAgent);
  return match ? match[0].replace('Edg/', 'Edge/') : userAgent.slice(0, 40);
}

/** "Your devices": every live session of this user, each revocable, and "sign out everywhere else". */
export function Devices({ sessionId }: { sessionId: string }) {
  const [devices, setDevices] = useState<GatehouseDevice[]>([]);
  const [message, setMessage] = useState('');

  const load = useCallback(() => {
    gatehouse.sessions().then(setDevices, (e: Error) => setMessage(e.message));
  }, []);
  useEffect(load, [load, sessionId]);

  async function run(action: () => Promise<unknown>, done: string) {
    setMessage('');
    try {
      await action();
      setMessage(done);
    } catch (e) {
      setMessage((e as Error).message);
    }
    load();
  }

  return (
    <>
      <h3>Your devices</h3>
      <ul id="sessions">
        {devices.map((d) => (
          <li key={d.id} data-session-id={d.id} className={d.current ? 'current' : 'other'}>
            {d.current ? 'This device' : 'Other device'} — {browserName(d.userAgent)}, signed in {d.createdAt.toLocaleString()}, last seen{' '}
            {d.lastSeenAt.toLocaleTimeString()}
            {!d.current && (
              <button type="button" className="revoke-device" onClick={() => run(() => gatehouse.revoke(d.id), 'Device signed out.')}>
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" id="revoke-others" onClick={() => run(() => gatehouse.revokeOthers(), 'Every other device is signed out.')}>
        Sign out everywhere else
      </button>
      <p id="devices-message" role="status">
        {message}
      </p>
    </>
  );
}
