import { parseArgs } from 'node:util';

/** `--config FILE` (also `-c`), required by the commands that read a config. */
export function configArg(args: string[]): { file: string; positionals: string[] } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' } },
  });
  const file = values.config ?? process.env.GATEHOUSE_CONFIG;
  if (file === undefined) throw new Error('--config FILE is required (or set GATEHOUSE_CONFIG)');
  return { file, positionals };
}
