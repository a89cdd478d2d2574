import type { ConfigProblem } from '../../errors.js';
import type { ParsedConfig } from '../schema.js';

/** Each top-level section is present only when it passed the schema. */
export type PartialConfig = Partial<ParsedConfig>;

/**
 * One check over keys taken together. It reads a partial configuration (the sections that passed
 * the schema) and returns every problem it finds, each naming its key, the reason and the fix.
 */
export type ConfigCheck = (config: PartialConfig) => ConfigProblem[];
