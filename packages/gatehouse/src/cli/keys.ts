import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import { MAX_KEYS, readKeyFile, retiresAt, rotateKeyFile, type SecretKey, serializeKeyRing } from '../keys/keyring.js';
import { CONFIGURED_RING, configuredKeys, gracePeriodOf, keyFileOf, openKeyRing } from '../keys/open.js';
import { RETIRED_KEY_GRACE_MS, rotateSigningKeyFile, SigningKeyRing } from '../tokens/signing-keys.js';
import { configArg } from './args.js';

const USAGE = 'usage: gatehouse keys generate|rotate|list|export --config FILE   (export: the ring as one line, for GATEHOUSE_KEYS__RING)';

/** What the command reads and writes besides its files; tests pass their own. */
export interface KeysCommandContext {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** `GATEHOUSE_*` overrides. Default: `process.env`. */
  env?: Record<string, string | undefined>;
  /** Dates new keys and judges which keys are retired. Default: the system clock. */
  clock?: Clock;
}

/**
 * `gatehouse keys generate|rotate|list|export --config FILE`. The key ring is `dataDir/keys.json`
 * unless `keys.ring` (GATEHOUSE_KEYS__RING) holds it; several instances must share it (the same
 * file on every instance, or the same exported value). Only `export` prints key material.
 */
export async function runKeysCommand(args: string[], context: KeysCommandContext = {}): Promise<number> {
  const { file, positionals } = configArg(args);
  const config = loadConfig(file, context.env ?? process.env);
  const clock = context.clock ?? systemClock;
  const stdout = context.stdout ?? process.stdout;
  const stderr = context.stderr ?? process.stderr;
  const out = (line: string) => stdout.write(`${line}\n`);
  const gracePeriodMs = gracePeriodOf(config);
  const keyFile = keyFileOf(config);
  const configured = config.keys.ring !== undefined;
  const source = configured ? CONFIGURED_RING.what : `key file ${keyFile}`;
  // The signing keys of internal tokens (issue 4), when a route uses them or the file exists.
  const signingFile = join(config.dataDir, 'signing-keys.json');
  const signing = existsSync(signingFile) || config.apis.some((api) => api.token === 'internal');
  switch (positionals[0]) {
    case 'generate': {
      // With keys.ring set nothing is written: the ring is whatever that value holds.
      const ring = openKeyRing(config, { clock });
      out(`key ring from ${source}: current key ${ring.current.kid}`);
      if (signing) {
        const signingRing = await SigningKeyRing.open(signingFile, config.internalTokens.algorithm);
        out(`signing keys at ${signingFile}: current key ${signingRing.current.kid} (${signingRing.current.alg})`);
      }
      return 0;
    }
    case 'rotate': {
      if (configured) {
        // A rotation written nowhere would be lost, and instances would disagree on the current key.
        stderr.write(
          `gatehouse keys rotate: this configuration takes its key ring from ${CONFIGURED_RING.what}, which rotate cannot change; nothing was rotated.\n` +
            '  Rotate the key file the value was exported from (run "gatehouse keys rotate --config FILE" with a config where keys.ring is not set),\n' +
            '  then run "gatehouse keys export --config FILE" there and give the new value to every instance.\n',
        );
        return 1;
      }
      const { ring, pruned, dropped } = rotateKeyFile(keyFile, { clock, gracePeriodMs });
      out(`rotated: current key ${ring.current.kid}`);
      ring.keys.slice(1).forEach((key, i) => out(`  ${key.kid} still decrypts until ${iso(retiresAt(ring.keys, i + 1, gracePeriodMs))}`));
      if (pruned.length > 0) out(`removed ${pruned.length} retired key(s): ${pruned.map((k) => k.kid).join(', ')}`);
      if (dropped.length > 0) {
        stderr.write(`warning: a key file keeps at most ${MAX_KEYS} keys: ${dropped.map((k) => k.kid).join(', ')} removed before their grace period ended; what they sealed no longer opens\n`);
      }
      if (signing) {
        const key = await rotateSigningKeyFile(signingFile, config.internalTokens.algorithm);
        out(`rotated signing keys: internal tokens are now signed by ${key.kid}; older public keys stay published for ${RETIRED_KEY_GRACE_MS / 3_600_000} h`);
      }
      out('restart every gateway instance to pick up the new key');
      return 0;
    }
    case 'list': {
      const keys = configuredKeys(config) ?? readKeyFile(keyFile);
      const now = clock();
      keys.forEach((key, i) => out(`${key.kid}  ${iso(key.createdAt)}  ${stateOf(keys, i, gracePeriodMs, now)}`));
      if (existsSync(signingFile)) {
        const signingRing = await SigningKeyRing.open(signingFile);
        signingRing.keys.forEach((k, i) => {
          out(`signing ${k.kid}  ${k.alg}  ${iso(k.createdAt)}  ${i === 0 ? 'current (signs internal tokens)' : 'published until its tokens expire'}`);
        });
      }
      return 0;
    }
    case 'export': {
      const keys = configuredKeys(config) ?? readKeyFile(keyFile);
      stdout.write(`${serializeKeyRing(keys)}\n`);
      stderr.write(
        `warning: this output is the secret key ring from ${source}: whoever holds it can forge sessions and read sealed tokens.\n` +
          '  Store it only as a secret (e.g. GATEHOUSE_KEYS__RING from a Kubernetes Secret), never in a config file, a repository or a log.\n',
      );
      return 0;
    }
    default:
      stderr.write(`${USAGE}\n`);
      return 2;
  }
}

/** `current`, `decrypts until <ISO date>` or `retired`, at `now`. */
function stateOf(keys: readonly SecretKey[], index: number, gracePeriodMs: number, now: number): string {
  const until = retiresAt(keys, index, gracePeriodMs);
  if (until === undefined) return 'current';
  return until <= now ? 'retired' : `decrypts until ${iso(until)}`;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}
