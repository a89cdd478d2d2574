import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { BootError } from '../errors.js';

/** One symmetric secret. `kid` names it in what it protects, so rotation keeps old values readable. */
export interface SecretKey {
  /** 1–32 of `A–Z a–z 0–9 _ -`: it travels in cookies and tokens (`<kid>.<mac>`). */
  kid: string;
  /** 32 random bytes or more. Used only through its subkeys (subkey.ts), never directly. */
  secret: Buffer;
  /** When the key was generated (ms). The key it replaced stays usable for the grace period from here. */
  createdAt: number;
}

/**
 * The key ring: the first key (current) seals and signs; an older key still opens and verifies
 * what it made until its grace period is over, then it is retired and {@link KeyRing.find} no
 * longer returns it, so a value under it means nothing. Retirement is judged at each lookup by the
 * ring's clock, so a running gateway retires keys on time without a restart.
 */
export interface KeyRing {
  readonly current: SecretKey;
  /** The key named `kid` while it is current or within its grace period; undefined when unknown or retired. */
  find(kid: string): SecretKey | undefined;
  /** Every key loaded, newest first, retired ones included (`find` decides which still count). */
  readonly keys: readonly SecretKey[];
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** Judges retirement at lookup time. Default: the system clock. */
  clock?: Clock | undefined;
  /**
   * How long a replaced key still opens what it sealed, from the moment its replacement was
   * created (`keys.gracePeriod`, default `session.absoluteTimeout`). Unset: keys are never retired.
   */
  gracePeriodMs?: number | undefined;
}

/**
 * A hard cap on the keys a rotation keeps, however long the grace period: a rotate loop (a cron
 * job gone wrong) cannot grow the file without bound. Past it the oldest keys go even within their
 * grace; the CLI says so.
 */
export const MAX_KEYS = 10;

const KID = /^[A-Za-z0-9_-]{1,32}$/;

/** Where a key ring's JSON came from, for error messages that name it and say how to fix it. */
export interface KeyRingSource {
  /** e.g. `key file /data/keys.json` or `keys.ring (GATEHOUSE_KEYS__RING)`. */
  what: string;
  /** What the operator should do, e.g. `run "gatehouse keys generate"`. */
  fix: string;
}

interface StoredKey {
  kid: string;
  k: string;
  createdAt: number;
}

export function generateKey(now = Date.now()): SecretKey {
  return { kid: randomUUID().slice(0, 8), secret: randomBytes(32), createdAt: now };
}

/**
 * When the key at `index` of `keys` (newest first) stops opening: the creation of the key that
 * replaced it (the one before it) plus the grace period. Undefined for the current key, or when
 * there is no grace period (never retired).
 */
export function retiresAt(keys: readonly SecretKey[], index: number, gracePeriodMs: number | undefined): number | undefined {
  const replacedBy = keys[index - 1];
  if (index <= 0 || replacedBy === undefined || gracePeriodMs === undefined) return undefined;
  return replacedBy.createdAt + gracePeriodMs;
}

/** True when the key at `index` is retired at `now`: `(createdAt of its replacement) + grace <= now`. */
export function isRetired(keys: readonly SecretKey[], index: number, gracePeriodMs: number | undefined, now: number): boolean {
  const until = retiresAt(keys, index, gracePeriodMs);
  return until !== undefined && until <= now;
}

/** Builds a ring from keys newest first. Without options no key is ever retired (the old behaviour). */
export function createKeyRing(keys: readonly SecretKey[], options: KeyRingOptions = {}): KeyRing {
  if (keys.length === 0) throw new TypeError('a key ring needs at least one key');
  const { clock = systemClock, gracePeriodMs } = options;
  if (gracePeriodMs !== undefined && !(Number.isFinite(gracePeriodMs) && gracePeriodMs > 0)) {
    throw new TypeError('gracePeriodMs must be a positive number of milliseconds');
  }
  const frozen = Object.freeze([...keys]);
  const byKid = new Map<string, number>();
  frozen.forEach((key, index) => {
    // Two keys under one kid would make `find` pick one arbitrarily: refuse.
    if (byKid.has(key.kid)) throw new TypeError(`two keys share the kid "${key.kid}"`);
    byKid.set(key.kid, index);
  });
  return {
    current: frozen[0] as SecretKey,
    keys: frozen,
    find(kid) {
      const index = byKid.get(kid);
      if (index === undefined || isRetired(frozen, index, gracePeriodMs, clock())) return undefined;
      return frozen[index];
    },
  };
}

/** Reads the key file; creates it with one new key when it does not exist. */
export function loadOrCreateKeyRing(file: string, options: KeyRingOptions = {}): KeyRing {
  if (!existsSync(file)) writeKeyFile(file, [generateKey((options.clock ?? systemClock)())]);
  return createKeyRing(readKeyFile(file), options);
}

/** What {@link rotateKeyFile} did. */
export interface Rotation {
  /** The ring as written: the new current key first. */
  ring: KeyRing;
  /** Keys removed because they were already retired. */
  pruned: readonly SecretKey[];
  /** Keys removed by the {@link MAX_KEYS} cap although still within their grace period. */
  dropped: readonly SecretKey[];
}

/**
 * Adds a new current key in front. Keys already retired at `clock()` (judged with the new key in
 * place) leave the file, and so does every key behind the first retired one, so the kept keys
 * keep the same replacement order and the same retirement times. At most {@link MAX_KEYS} stay.
 */
export function rotateKeyFile(file: string, options: KeyRingOptions = {}): Rotation {
  const now = (options.clock ?? systemClock)();
  const old = existsSync(file) ? readKeyFile(file) : [];
  let fresh = generateKey(now);
  while (old.some((k) => k.kid === fresh.kid)) fresh = generateKey(now);
  const all = [fresh, ...old];
  const firstRetired = all.findIndex((_, i) => isRetired(all, i, options.gracePeriodMs, now));
  const live = firstRetired === -1 ? all : all.slice(0, firstRetired);
  const kept = live.slice(0, MAX_KEYS);
  writeKeyFile(file, kept);
  return {
    ring: createKeyRing(kept, options),
    pruned: firstRetired === -1 ? [] : all.slice(firstRetired),
    dropped: live.slice(MAX_KEYS),
  };
}

/** Reads and validates a key file (see {@link parseKeyRing}); a missing file is an error too. */
export function readKeyFile(file: string): SecretKey[] {
  const source = { what: `key file ${file}`, fix: 'restore it from backup, or run "gatehouse keys generate --config FILE"' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new BootError('GH_KEYRING_UNREADABLE', `${source.what} cannot be read (${code}): ${source.fix}`, { cause: error });
  }
  return parseKeyRing(text, source);
}

/**
 * Parses a key ring's JSON (`{ "keys": [{ "kid", "k", "createdAt" }, …] }`, newest first): the
 * format of `dataDir/keys.json`, of `keys.ring`, and of `gatehouse keys export`. Messages never
 * quote the text (it is the secret; V8's JSON errors would echo part of it).
 *
 * @throws {BootError} `GH_KEYRING_UNREADABLE` naming the source and the fix.
 */
export function parseKeyRing(text: string, source: KeyRingSource): SecretKey[] {
  const fail = (problem: string): never => {
    throw new BootError('GH_KEYRING_UNREADABLE', `${source.what} ${problem}: ${source.fix}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    return fail(`is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
  }
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list) || list.length === 0) return fail('holds no keys (it needs {"keys": [...]})');
  const keys = list.map((entry: unknown, i): SecretKey => {
    const k = (typeof entry === 'object' && entry !== null ? entry : {}) as Partial<Record<keyof StoredKey, unknown>>;
    const secret = typeof k.k === 'string' ? Buffer.from(k.k, 'base64url') : Buffer.alloc(0);
    if (typeof k.kid !== 'string' || !KID.test(k.kid) || secret.length < 32) {
      return fail(`has a malformed key ${i} (each needs a kid of 1-32 letters, digits, "_" or "-" and a base64url k of 32 bytes or more)`);
    }
    if (typeof k.createdAt !== 'number' || !Number.isSafeInteger(k.createdAt) || k.createdAt < 0) {
      return fail(`has a key ${i} (${k.kid}) without a valid createdAt (milliseconds since 1970)`);
    }
    return { kid: k.kid, secret, createdAt: k.createdAt };
  });
  const kids = new Set<string>();
  for (const key of keys) {
    if (kids.has(key.kid)) fail(`has two keys with the kid "${key.kid}"`);
    kids.add(key.kid);
  }
  return keys;
}

/** The JSON of a key ring on one line (`gatehouse keys export`, for `GATEHOUSE_KEYS__RING`). */
export function serializeKeyRing(keys: readonly SecretKey[]): string {
  return JSON.stringify(stored(keys));
}

function stored(keys: readonly SecretKey[]): { keys: StoredKey[] } {
  return { keys: keys.map((k) => ({ kid: k.kid, k: k.secret.toString('base64url'), createdAt: k.createdAt })) };
}

function writeKeyFile(file: string, keys: readonly SecretKey[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const body = JSON.stringify(stored(keys), null, 2);
  // Write then rename, so a crash never leaves a half-written key file; 0600 because these are secrets.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${body}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
