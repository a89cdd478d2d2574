import type { ExpiringEvent } from '@gatehouse/client';

/** Shown from the client's `expiring` event until the session ends (or a new one starts). */
export function ExpiryNotice({ expiring }: { expiring: ExpiringEvent | null }) {
  if (!expiring) return null;
  return (
    <p id="expiry-notice" className="notice" role="alert">
      Your session ends at {expiring.expiresAt.toLocaleTimeString()}. Save your work: you will need to sign in again.
    </p>
  );
}
