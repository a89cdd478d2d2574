import { describe, expect, it } from 'vitest';
import { isRedisUrl, parseRedisUrl } from '../../src/config/redis-url.js';

const target = (url: string) => {
  const parsed = parseRedisUrl(url);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.target;
};

describe('parseRedisUrl', () => {
  it('reads a standalone server, with defaults', () => {
    expect(target('redis://cache')).toStrictEqual({ mode: 'standalone', endpoint: { host: 'cache', port: 6379 }, tls: false, database: 0 });
    expect(target('redis://127.0.0.1:6380/')).toMatchObject({ endpoint: { host: '127.0.0.1', port: 6380 }, database: 0 });
    expect(target('redis://[::1]:7000/5')).toMatchObject({ endpoint: { host: '::1', port: 7000 }, database: 5 });
  });

  it('reads TLS and percent-decoded credentials', () => {
    expect(target('rediss://gate%20house:p%40ss%3Aw%2Frd@cache.example.com:6380/1')).toStrictEqual({
      mode: 'standalone',
      endpoint: { host: 'cache.example.com', port: 6380 },
      tls: true,
      database: 1,
      username: 'gate house',
      password: 'p@ss:w/rd',
    });
    // A password alone (requirepass), and an unencoded "@" in it (the last "@" ends the user info).
    expect(target('redis://:pa@ss@h')).toMatchObject({ password: 'pa@ss' });
    expect(target('redis://:pa@ss@h')).not.toHaveProperty('username');
  });

  it('reads Sentinels, their default port, the master name and ?db', () => {
    expect(target('redis-sentinel://u:pw@s1,s2:26380,[fd00::2]/my-master.1?db=2')).toStrictEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 'fd00::2', port: 26379 },
      ],
      masterName: 'my-master.1',
      database: 2,
      tls: false,
      username: 'u',
      password: 'pw',
    });
  });

  it('reads Cluster seed nodes', () => {
    expect(target('redis-cluster://10.0.0.1:7000,10.0.0.2')).toStrictEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
      tls: false,
    });
  });

  it('reads Sentinels over TLS (rediss-sentinel://): same form, TLS to the Sentinels and the data nodes', () => {
    expect(target('rediss-sentinel://gate:p%40ss@s1,[fd00::2]:26380/prod?db=1')).toStrictEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 'fd00::2', port: 26380 },
      ],
      masterName: 'prod',
      database: 1,
      tls: true,
      username: 'gate',
      password: 'p@ss',
    });
  });

  it('reads a Cluster over TLS (rediss-cluster://)', () => {
    expect(target('rediss-cluster://:s3cret@n1.redis.internal:7000,n2.redis.internal')).toStrictEqual({
      mode: 'cluster',
      nodes: [
        { host: 'n1.redis.internal', port: 7000 },
        { host: 'n2.redis.internal', port: 6379 },
      ],
      tls: true,
      password: 's3cret',
    });
  });

  it.each([
    ['http://h', /not a Redis URL/],
    ['redis://', /host is missing/],
    ['redis://h:65536', /1 to 65535/],
    ['redis://h:-1', /1 to 65535/],
    ['redis://[zz]:1', /not an IPv6 address/],
    ['redis://h/1/2', /database number/],
    ['redis://h#x', /fragment/],
    ['redis-sentinel://s1/bad/name', /master name must be/],
    ['redis-sentinel://s1/m?db=1&db=2', /given twice/],
    ['redis-cluster://h?x=1', /takes no \?parameters/],
    ['redis://u:%E0%A4%A@h', /malformed %-escape/],
    ['rediss-sentinel://s1:26379', /master name is missing: write rediss-sentinel:\/\//],
    ['rediss-sentinel://s1/m?tls=0', /unknown parameter "tls": rediss-sentinel:\/\/ takes only \?db=N/],
    ['rediss-cluster://h1:7000/0', /rediss-cluster:\/\/ takes no path/],
    ['rediss-cluster://h1?x=1', /rediss-cluster:\/\/ takes no \?parameters/],
    ['rediss://h1,h2', /use rediss-sentinel:\/\/ or rediss-cluster:\/\//],
    ['redis-sentinels://h/m', /not a Redis URL/],
    ['rediss-sentinel:/h/m', /not a Redis URL/],
  ])('refuses %s', (url, problem) => {
    const parsed = parseRedisUrl(url);
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });

  it('recognises the six schemes', () => {
    const all = ['redis://h', 'rediss://h', 'redis-sentinel://h/m', 'rediss-sentinel://h/m', 'redis-cluster://h', 'rediss-cluster://h'];
    expect(all.every(isRedisUrl)).toBe(true);
    expect(['memory', 'sqlite:x', 'postgres://h', 'redisx://h', 'redis-sentinels://h/m', 'redisss-cluster://h'].some(isRedisUrl)).toBe(false);
  });

  it.each([
    'rediss-sentinel://u:Hunter2secret@s1:26379',
    'rediss-sentinel://u:Hunter2secret@s1/m?password=Hunter2secret',
    'rediss-cluster://:Hunter2secret@h1:7000/3',
    'rediss-cluster://:Hunter2secret@h 1:7000',
    'rediss://:Hunter2secret@h1,h2',
    'rediss-sentinel://:Hunter2secret@s1:99999/m',
  ])('never repeats the password in the problem: %s', (url) => {
    const parsed = parseRedisUrl(url);
    if (!('problem' in parsed)) throw new Error('expected a problem');
    expect(parsed.problem).not.toContain('Hunter2secret');
  });
});
