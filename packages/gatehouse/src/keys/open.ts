import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { GatehouseConfig } from '../config/schema.js';
import { createKeyRing, type KeyRing, type KeyRingSource, loadOrCreateKeyRing, parseKeyRing, type SecretKey } from './keyring.js';

/** The error source of `keys.ring`: names both the key and the variable it is usually set through. */
export const CONFIGURED_RING: KeyRingSource = {
  what: 'keys.ring (GATEHOUSE_KEYS__RING)',
  fix: 'set it to the single line that "gatehouse keys export --config FILE" prints where the key file is kept',
};

/** `dataDir/keys.json`: the key file, used when `keys.ring` is not set. */
export function keyFileOf(config: GatehouseConfig): string {
  return join(config.dataDir, 'keys.json');
}

/** How long a replaced key keeps opening what it sealed: `keys.gracePeriod`, default `session.absoluteTimeout`. */
export function gracePeriodOf(config: GatehouseConfig): number {
  // A cookie sealed just before a rotation lives at most absoluteTimeout: after it no session needs the old key.
  return config.keys.gracePeriod ?? config.session.absoluteTimeout;
}

/**
 * The keys of `keys.ring`, parsed and validated as a key file is. Undefined when it is not set.
 *
 * @throws {BootError} `GH_KEYRING_UNREADABLE` naming `keys.ring` / `GATEHOUSE_KEYS__RING` and the fix.
 */
export function configuredKeys(config: GatehouseConfig): SecretKey[] | undefined {
  return config.keys.ring === undefined ? undefined : parseKeyRing(config.keys.ring, CONFIGURED_RING);
}

/**
 * The key ring of a gateway, for the composition root. With `keys.ring` set (usually through
 * GATEHOUSE_KEYS__RING) it is that JSON and nothing is written, so instances given the same value
 * share their keys without a shared volume; otherwise `dataDir/keys.json`, created with one key
 * when missing. Replaced keys retire after `keys.gracePeriod` (default `session.absoluteTimeout`),
 * judged by `options.clock` at each lookup.
 *
 * @throws {BootError} `GH_KEYRING_UNREADABLE` when the configured ring or the key file is unreadable.
 */
export function openKeyRing(config: GatehouseConfig, options: { clock?: Clock } = {}): KeyRing {
  const ringOptions = { clock: options.clock, gracePeriodMs: gracePeriodOf(config) };
  const configured = configuredKeys(config);
  return configured ? createKeyRing(configured, ringOptions) : loadOrCreateKeyRing(keyFileOf(config), ringOptions);
}
