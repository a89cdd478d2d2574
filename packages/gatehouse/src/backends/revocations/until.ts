/**
 * A revocation's `until` must be a real instant (epoch ms): NaN would compare false with every
 * clock reading (never revoked, or never expiring), and Infinity has no TTL a store can hold.
 * Both are caller bugs, so they throw rather than being stored or silently dropped.
 */
export function assertUntil(until: number): void {
  if (!Number.isFinite(until)) throw new RangeError(`a revocation's until must be a finite epoch ms, got ${until}`);
}
