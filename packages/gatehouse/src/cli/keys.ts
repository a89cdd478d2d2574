import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { loadOrCreateKeyRing, readKeyFile, rotateKeyFile } from '../keys/keyring.js';
import { configArg } from './main.js';

/**
 * `gatehouse keys generate|rotate|list --config FILE`. The key file lives in the data folder;
 * several instances must share it (copy it, or mount the same volume). Keys are never printed.
 */
export async function runKeysCommand(args: string[]): Promise<number> {
  const { file, positionals } = configArg(args);
  const config = loadConfig(file);
  const keyFile = join(config.dataDir, 'keys.json');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (positionals[0]) {
    case 'generate': {
      const ring = loadOrCreateKeyRing(keyFile);
      out(`key ring at ${keyFile}: current key ${ring.current.kid}`);
      return 0;
    }
    case 'rotate': {
      const ring = rotateKeyFile(keyFile);
      out(`rotated: current key ${ring.current.kid}; ${ring.keys.length - 1} older key(s) still verify`);
      out('restart every gateway instance to pick up the new key');
      return 0;
    }
    case 'list': {
      readKeyFile(keyFile).forEach((k, i) => {
        out(`${k.kid}  ${new Date(k.createdAt).toISOString()}  ${i === 0 ? 'current (signs)' : 'verifies only'}`);
      });
      return 0;
    }
    default:
      process.stderr.write('usage: gatehouse keys generate|rotate|list --config FILE\n');
      return 2;
  }
}
