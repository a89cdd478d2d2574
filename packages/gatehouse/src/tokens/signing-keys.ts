import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { BootError } from '../errors.js';

/** Algorithms of internal tokens (RFC 7518 §3.1). ES256 is the default: small keys, fast signatures. */
export type SigningAlgorithm = 'ES256' | 'RS256';

/** One asymmetric key pair. Only the public half ever leaves the file (in the JWKS). */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** Public JWK with `kid`, `alg` and `use: "sig"` (RFC 7517 §4). */
  publicJwk: JWK;
  createdAt: number;
  /** When a newer key took over; the key stays published until its last token has expired. */
  retiredAt?: number | undefined;
}

/**
 * Keys stay published this long after they stop signing: longer than the longest internal token
 * lifetime (1 h, see `internalTokens.lifetime`) plus the JWKS cache time of upstreams.
 */
export const RETIRED_KEY_GRACE_MS = 2 * 3_600_000;

interface StoredKey {
  kid: string;
  alg: SigningAlgorithm;
  privateJwk: JWK;
  publicJwk: JWK;
  createdAt: number;
  retiredAt?: number;
}

/**
 * The signing key ring of internal tokens: the first key signs, every key still in the ring is
 * published at `/.well-known/jwks.json`, so tokens signed before a rotation keep verifying until
 * they expire. Kept in `dataDir/signing-keys.json` (0600); instances share the file.
 */
export class SigningKeyRing {
  private constructor(
    private readonly file: string | undefined,
    private stored: StoredKey[],
    private loaded: SigningKey[],
  ) {}

  /** The key that signs new tokens. */
  get current(): SigningKey {
    return this.loaded[0] as SigningKey;
  }

  /** Every key still published, newest first. */
  get keys(): readonly SigningKey[] {
    return this.loaded;
  }

  /** The JWK Set of the public keys (RFC 7517 §5). */
  jwks(): { keys: JWK[] } {
    return { keys: this.loaded.map((k) => k.publicJwk) };
  }

  /**
   * A new signing key in front; the previous one is retired but stays published for
   * {@link RETIRED_KEY_GRACE_MS}; keys retired longer ago are dropped. Persisted when file-backed.
   */
  async rotate(alg: SigningAlgorithm = this.current.alg, now = Date.now()): Promise<SigningKey> {
    const next = rotateStored(this.stored, await newStoredKey(alg, now), now);
    this.loaded = await Promise.all(next.map(load));
    this.stored = next;
    if (this.file) writeStored(this.file, next);
    return this.current;
  }

  /** A ring kept only in memory (tests, embedding). */
  static async inMemory(alg: SigningAlgorithm = 'ES256', now = Date.now()): Promise<SigningKeyRing> {
    const stored = [await newStoredKey(alg, now)];
    return new SigningKeyRing(undefined, stored, await Promise.all(stored.map(load)));
  }

  /**
   * Reads `file`, creating it with one key when missing. When `alg` is given and differs from
   * the current key's, rotates to a key of that algorithm (the old key stays published).
   */
  static async open(file: string, alg?: SigningAlgorithm, now = Date.now()): Promise<SigningKeyRing> {
    if (!existsSync(file)) writeStored(file, [await newStoredKey(alg ?? 'ES256', now)]);
    const stored = readStored(file);
    const ring = new SigningKeyRing(file, stored, await Promise.all(stored.map(load)));
    if (alg !== undefined && ring.current.alg !== alg) await ring.rotate(alg, now);
    return ring;
  }
}

/** `gatehouse keys rotate`: rotates the file without starting a gateway. */
export async function rotateSigningKeyFile(file: string, alg?: SigningAlgorithm, now = Date.now()): Promise<SigningKey> {
  const ring = await SigningKeyRing.open(file, undefined, now);
  return ring.rotate(alg ?? ring.current.alg, now);
}

function rotateStored(keys: StoredKey[], fresh: StoredKey, now: number): StoredKey[] {
  const older = keys
    .map((k, i) => (i === 0 && k.retiredAt === undefined ? { ...k, retiredAt: now } : k))
    .filter((k) => k.retiredAt === undefined || now - k.retiredAt < RETIRED_KEY_GRACE_MS);
  return [fresh, ...older];
}

async function newStoredKey(alg: SigningAlgorithm, now: number): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const kid = randomUUID();
  return {
    kid,
    alg,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    createdAt: now,
  };
}

async function load(k: StoredKey): Promise<SigningKey> {
  const privateKey = (await importJWK(k.privateJwk, k.alg)) as CryptoKey;
  // Only public members are published, whatever the file holds (RFC 7517 §9.2: never leak private parameters).
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = k.publicJwk;
  return { kid: k.kid, alg: k.alg, privateKey, publicJwk, createdAt: k.createdAt, retiredAt: k.retiredAt };
}

function readStored(file: string): StoredKey[] {
  let parsed: { keys?: StoredKey[] };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: StoredKey[] };
  } catch (error) {
    throw new BootError('GH_SIGNING_KEYS_UNREADABLE', `signing key file ${file} is not readable JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new BootError('GH_SIGNING_KEYS_UNREADABLE', `signing key file ${file} holds no keys: delete it to start over`);
  parsed.keys.forEach((k, i) => {
    if (typeof k.kid !== 'string' || (k.alg !== 'ES256' && k.alg !== 'RS256') || !k.privateJwk || !k.publicJwk) {
      throw new BootError('GH_SIGNING_KEYS_UNREADABLE', `signing key file ${file}: key ${i} is malformed (needs kid, alg, privateJwk, publicJwk)`);
    }
  });
  return parsed.keys;
}

function writeStored(file: string, keys: StoredKey[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Write then rename, so a crash never leaves a half-written file; 0600: private keys.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
