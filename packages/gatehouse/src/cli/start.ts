import { loadConfig } from '../config/load.js';
import { startGatehouse, waitForShutdown } from '../start.js';
import { configArg } from './args.js';

/** `gatehouse start --config FILE`: run until SIGINT/SIGTERM. */
export async function runStart(args: string[]): Promise<number> {
  const { file } = configArg(args);
  const config = loadConfig(file);
  const gatehouse = await startGatehouse(config);
  await waitForShutdown(gatehouse);
  return 0;
}
