/** Milliseconds since the epoch. Injected everywhere expiry matters, so tests move time instead of sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
