import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { loadOrCreateKeyRing, readKeyFile, rotateKeyFile } from '../keys/keyring.js';
import { RETIRED_KEY_GRACE_MS, rotateSigningKeyFile, SigningKeyRing } from '../tokens/signing-keys.js';
import { configArg } from './args.js';

/**
 * `gatehouse keys generate|rotate|list --config FILE`. The key file lives in the data folder;
 * several instances must share it (copy it, or mount the same volume). Keys are never printed.
 */
export async function runKeysCommand(args: string[]): Promise<number> {
  const { file, positionals } = configArg(args);
  const config = loadConfig(file);
  const keyFile = join(config.dataDir, 'keys.json');
  // The signing keys of internal tokens (issue 4), when a route uses them or the file exists.
  const signingFile = join(config.dataDir, 'signing-keys.json');
  const signing = existsSync(signingFile) || config.apis.some((api) => api.token === 'internal');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (positionals[0]) {
    case 'generate': {
      const ring = loadOrCreateKeyRing(keyFile);
      out(`key ring at ${keyFile}: current key ${ring.current.kid}`);
      if (signing) {
        const signingRing = await SigningKeyRing.open(signingFile, config.internalTokens.algorithm);
        out(`signing keys at ${signingFile}: current key ${signingRing.current.kid} (${signingRing.current.alg})`);
      }
      return 0;
    }
    case 'rotate': {
      const ring = rotateKeyFile(keyFile);
      out(`rotated: current key ${ring.current.kid}; ${ring.keys.length - 1} older key(s) still verify`);
      if (signing) {
        const key = await rotateSigningKeyFile(signingFile, config.internalTokens.algorithm);
        out(`rotated signing keys: internal tokens are now signed by ${key.kid}; older public keys stay published for ${RETIRED_KEY_GRACE_MS / 3_600_000} h`);
      }
      out('restart every gateway instance to pick up the new key');
      return 0;
    }
    case 'list': {
      readKeyFile(keyFile).forEach((k, i) => {
        out(`${k.kid}  ${new Date(k.createdAt).toISOString()}  ${i === 0 ? 'current (signs)' : 'verifies only'}`);
      });
      if (existsSync(signingFile)) {
        const signingRing = await SigningKeyRing.open(signingFile);
        signingRing.keys.forEach((k, i) => {
          out(`signing ${k.kid}  ${k.alg}  ${new Date(k.createdAt).toISOString()}  ${i === 0 ? 'current (signs internal tokens)' : 'published until its tokens expire'}`);
        });
      }
      return 0;
    }
    default:
      process.stderr.write('usage: gatehouse keys generate|rotate|list --config FILE\n');
      return 2;
  }
}
