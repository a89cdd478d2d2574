import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { configArg } from './args.js';

/** `gatehouse config check --config FILE`: every problem at once, non-zero exit when there is any. */
export async function runConfigCheck(args: string[]): Promise<number> {
  const { file } = configArg(args);
  try {
    const config = loadConfig(file);
    process.stdout.write(`${file}: OK (mode ${config.mode}, public origin ${config.publicOrigin})\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}
