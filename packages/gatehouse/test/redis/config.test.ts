/**
 * The TLS forms of Sentinel and Cluster through the whole config path (schema pattern, then the
 * URL check in validation), beside the URL parser's own tests.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { BASE_DIR, keysOf, messageFor, problemsOf, withPatch } from '../config/helpers.js';

const store = (url: string) => withPatch({ session: { store: url } });

describe('session.store: rediss-sentinel:// and rediss-cluster://', () => {
  it('accepts both', () => {
    for (const url of ['rediss-sentinel://gate:s3cret@s1:26379,s2:26379/prod?db=1', 'rediss-cluster://:s3cret@n1:7000,n2:7001']) {
      expect(resolveConfig(store(url), { baseDir: BASE_DIR }).session.store).toBe(url);
    }
  });

  it.each([
    ['rediss-sentinel://:Hunter2secret@s1:26379', /master name is missing/],
    ['rediss-cluster://:Hunter2secret@h1:7000/3', /only database 0/],
  ])('refuses %s, naming session.store, listing the TLS forms, never echoing the password', (url, reason) => {
    const problems = problemsOf(store(url));
    expect(problems.map((p) => p.key)).toEqual(['session.store']);
    const message = messageFor(problems, 'session.store');
    expect(message).toMatch(reason);
    expect(message).toContain('"rediss-sentinel://"');
    expect(JSON.stringify(problems)).not.toContain('Hunter2');
  });

  it('refuses accounts in Redis over TLS too', () => {
    for (const url of ['rediss-sentinel://s1/m', 'rediss-cluster://h1:7000']) {
      expect(keysOf(withPatch({ local: { enabled: true, store: url } }))).toEqual(['local.store']);
    }
  });
});
