import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BootError } from '../errors.js';

/** One symmetric secret. `kid` names it in what it signs, so rotation keeps old values verifiable. */
export interface SecretKey {
  kid: string;
  /** 32 random bytes. */
  secret: Buffer;
  createdAt: number;
}

/**
 * The key ring: the newest key signs, every key still in the ring verifies. Rotation adds a key
 * at the front and keeps {@link MAX_KEYS} in all, so values signed before a rotation stay valid
 * until they age out.
 */
export interface KeyRing {
  readonly current: SecretKey;
  find(kid: string): SecretKey | undefined;
  readonly keys: readonly SecretKey[];
}

export const MAX_KEYS = 3;

interface KeyFile {
  keys: { kid: string; k: string; createdAt: number }[];
}

export function generateKey(now = Date.now()): SecretKey {
  return { kid: randomUUID().slice(0, 8), secret: randomBytes(32), createdAt: now };
}

export function createKeyRing(keys: SecretKey[]): KeyRing {
  if (keys.length === 0) throw new TypeError('a key ring needs at least one key');
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  return { current: keys[0] as SecretKey, keys: Object.freeze([...keys]), find: (kid) => byKid.get(kid) };
}

/** Reads the key file; creates it with one new key when it does not exist. */
export function loadOrCreateKeyRing(file: string): KeyRing {
  if (!existsSync(file)) writeKeyFile(file, [generateKey()]);
  return createKeyRing(readKeyFile(file));
}

/** Adds a new current key in front, keeping the newest {@link MAX_KEYS}. */
export function rotateKeyFile(file: string): KeyRing {
  const keys = existsSync(file) ? readKeyFile(file) : [];
  const next = [generateKey(), ...keys].slice(0, MAX_KEYS);
  writeKeyFile(file, next);
  return createKeyRing(next);
}

export function readKeyFile(file: string): SecretKey[] {
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  } catch (error) {
    throw new BootError('GH_KEYRING_UNREADABLE', `key file ${file} is not readable JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    throw new BootError('GH_KEYRING_UNREADABLE', `key file ${file} holds no keys: run "gatehouse keys generate"`);
  }
  return parsed.keys.map((k, i) => {
    const secret = Buffer.from(String(k.k), 'base64url');
    if (typeof k.kid !== 'string' || secret.length < 32) {
      throw new BootError('GH_KEYRING_UNREADABLE', `key file ${file}: key ${i} is malformed (needs kid and a 32-byte k)`);
    }
    return { kid: k.kid, secret, createdAt: Number(k.createdAt) || 0 };
  });
}

function writeKeyFile(file: string, keys: SecretKey[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const body: KeyFile = {
    keys: keys.map((k) => ({ kid: k.kid, k: k.secret.toString('base64url'), createdAt: k.createdAt })),
  };
  // Write then rename, so a crash never leaves a half-written key file; 0600 because these are secrets.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
