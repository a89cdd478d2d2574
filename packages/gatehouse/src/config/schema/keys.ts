import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { DURATION, parseDurationValue } from './values.js';

/** `keys`: the key ring that encrypts the session cookie (cookie mode), login transactions and tokens at rest. */
export const keysSection = z
  .strictObject({
    gracePeriod: z
      .string()
      .regex(DURATION, 'must be a duration: write e.g. "30m", "12h", "45s", "7d" or "500ms".')
      .refine((value) => !DURATION.test(value) || parseDuration(value) !== null, 'must be greater than zero.')
      .transform((value) => parseDurationValue(value))
      .optional()
      .describe(
        'How long a key replaced by `gatehouse keys rotate` still decrypts what it sealed (cookies are re-issued under the new key on their next request). After it, values under the old key mean no session. Default: `session.absoluteTimeout`.',
      ),
    ring: z
      .string()
      .optional()
      .describe(
        'The key ring itself, as the JSON of a key file (`gatehouse keys export` prints it), usually set through GATEHOUSE_KEYS__RING in containers. Replaces `dataDir/keys.json`; every instance given the same value shares the keys.',
      ),
  })
  .prefault({})
  .describe('The symmetric key ring (dataDir/keys.json unless `keys.ring` is set).');
