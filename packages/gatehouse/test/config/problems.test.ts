import { describe, expect, it } from 'vitest';
import { keysOf, MINIMUM, messageFor, problemsOf, withPatch } from './helpers.js';

describe('schema problems', () => {
  it('reports an unknown key at the root by its name, with a suggestion', () => {
    const { publicOrigin: _, ...rest } = MINIMUM;
    const problems = problemsOf({ ...rest, publicOrign: 'https://x.example' });
    expect(messageFor(problems, 'publicOrign')).toMatch(/^unknown key — did you mean "publicOrigin"\?/);
    // The misspelt key also leaves the real one missing.
    expect(messageFor(problems, 'publicOrigin')).toMatch(/^required: add it \(the origin users open/);
  });

  it('reports unknown nested keys with their full path', () => {
    const problems = problemsOf(withPatch({ session: { idelTimeout: '15m', cookie: { sameSite: 'lax', httponly: true } } }));
    expect(messageFor(problems, 'session.idelTimeout')).toMatch(/^unknown key — did you mean "idleTimeout"\?/);
    expect(messageFor(problems, 'session.cookie.httponly')).toMatch(/did you mean "httpOnly"\?/);
  });

  it('reports unknown keys inside arrays and unions with their path', () => {
    const input = withPatch({
      static: [{ path: '/files', root: './files', protect: true }],
      listen: { tls: { cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' } },
    });
    const problems = problemsOf(input);
    expect(messageFor(problems, 'static[0].protect')).toMatch(/did you mean "protected"\?/);
    expect(messageFor(problems, 'listen.tls.ca')).toBe('unknown key — remove it. Keys allowed here: cert, key.');
  });

  it('reports several problems together in one error', () => {
    const problems = problemsOf({
      mode: 'prod',
      listen: { port: '9443' },
      static: [{ path: 'files', root: 4 }],
      session: { idleTimeout: '30 minutes' },
      cors: { allowOrigins: '*' },
      colour: 'blue',
    });
    expect(problems.map((p) => p.key)).toEqual([
      'mode',
      'publicOrigin',
      'listen.port',
      'static[0].path',
      'static[0].root',
      'session.idleTimeout',
      'colour',
      'cors.allowOrigins',
    ]);
    expect(messageFor(problems, 'mode')).toBe('must be one of "production", "development" (got "prod"). Did you mean "production"?');
    expect(messageFor(problems, 'listen.port')).toBe('expected a number, got "9443": write 9443 without quotes.');
    expect(messageFor(problems, 'static[0].path')).toBe('must be an absolute URL path such as "/files".');
    expect(messageFor(problems, 'static[0].root')).toBe('expected a string, got 4: write a directory such as "./files".');
    expect(messageFor(problems, 'session.idleTimeout')).toMatch(/^must be a duration: write e\.g\. "30m"/);
    // The cors section parsed, so its unsafe value is reported alongside the schema problems.
    expect(messageFor(problems, 'cors.allowOrigins')).toMatch(/^"\*" is refused/);
  });

  it('reports a typo and an unsafe value in the same section together', () => {
    const input = withPatch({ session: { idelTimeout: '15m', cookie: { sameSite: 'none', domian: 'example.com' } } });
    expect(keysOf(input)).toEqual(['session.cookie.domian', 'session.idelTimeout', 'session.cookie.sameSite']);
  });

  it('explains a union mismatch with what to write', () => {
    const problems = problemsOf(withPatch({ listen: { tls: 'yes' }, trustProxy: null }));
    expect(messageFor(problems, 'listen.tls')).toBe(
      'must be "self-signed", false, or { "cert": "cert.pem", "key": "key.pem" } (got "yes").',
    );
    expect(messageFor(problems, 'trustProxy')).toMatch(/^must be true, a hop count/);
  });

  it('points into a list when one entry has the wrong type', () => {
    expect(keysOf(withPatch({ mode: 'development', cors: { allowOrigins: ['http://localhost:5173', 5] } }))).toEqual([
      'cors.allowOrigins[1]',
    ]);
  });

  it('refuses zero and malformed durations and out-of-range numbers', () => {
    const problems = problemsOf(withPatch({ session: { idleTimeout: '0m' }, listen: { port: 70000 }, local: { throttle: { accountFailures: 0 } } }));
    expect(messageFor(problems, 'session.idleTimeout')).toMatch(/greater than zero/);
    expect(messageFor(problems, 'listen.port')).toBe('must be at most 65535.');
    expect(messageFor(problems, 'local.throttle.accountFailures')).toBe('must be at least 1.');
  });

  it('reports a root that is not an object', () => {
    expect(problemsOf(null)).toEqual([{ key: '', message: 'expected an object, got null: write an object.' }]);
  });
});
