// `--session-mode server|cookie` of `gatehouse demo` and `gatehouse dev`: the flag parsed as each
// command parses it, fed to the function that builds the configuration it runs, and a wrong value
// refused by the built CLI with exit 2 before anything starts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DemoUsageError, demoConfig, demoFlags } from '../../src/cli/demo.js';
import { DevUsageError, devConfig } from '../../src/cli/dev-config.js';
import { parseDevArgs } from '../../src/cli/dev.js';
import { run } from '../helpers/process.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const DEV_SERVER = 'http://localhost:5173';

/** The configuration `gatehouse demo ARGS` runs (the demo's provider and API left out). */
function demoConfigFrom(args: string[]) {
  const flags = demoFlags(args);
  return demoConfig({ port: flags.port, host: flags.host, dataDir: tmp('gatehouse-demo-mode-'), session: flags.session, sessionMode: flags.sessionMode });
}

describe('gatehouse demo --session-mode', () => {
  it('sets session.mode; without the flag the demo runs in server mode', () => {
    expect(demoConfigFrom(['--session-mode', 'cookie']).session.mode).toBe('cookie');
    expect(demoConfigFrom(['--session-mode', 'server']).session.mode).toBe('server');
    expect(demoConfigFrom([]).session.mode).toBe('server');
  });

  it('cookie mode with a short --idle-timeout revalidates at half of it instead of failing validation', () => {
    // The schema's 5m default is more than half of 2m: config validation would refuse it.
    const config = demoConfigFrom(['--session-mode', 'cookie', '--idle-timeout', '2m']);
    expect(config.session.mode).toBe('cookie');
    expect(config.session.idleTimeout).toBe(120_000);
    expect(config.session.revalidateEvery).toBe(60_000);
    // Long enough idle timeouts keep the default; server mode never sets it.
    expect(demoConfigFrom(['--session-mode', 'cookie']).session.revalidateEvery).toBe(300_000);
    expect(demoConfigFrom(['--idle-timeout', '2m']).session.revalidateEvery).toBe(300_000);
  });

  it.each(['Cookie', 'jwt', 'stateless', ''])('refuses %j, naming the flag and both values', (value) => {
    expect(() => demoFlags(['--session-mode', value])).toThrow(DemoUsageError);
    expect(() => demoFlags(['--session-mode', value])).toThrow(`--session-mode ${JSON.stringify(value)}: must be "server" or "cookie"`);
  });
});

describe('gatehouse dev --session-mode', () => {
  const devFrom = (args: string[]) => devConfig(parseDevArgs(['--upstream-spa', DEV_SERVER, '--data', tmp('gatehouse-dev-mode-'), ...args]), {});

  it('sets session.mode (in the file it writes for `gatehouse users` too); without the flag, server mode', () => {
    const cookie = devFrom(['--session-mode', 'cookie']);
    expect(cookie.config.session.mode).toBe('cookie');
    expect(cookie.input.session).toEqual({ mode: 'cookie' });
    expect(devFrom(['--session-mode', 'server']).config.session.mode).toBe('server');
    const none = devFrom([]);
    expect(none.config.session.mode).toBe('server');
    expect(none.input.session).toBeUndefined();
  });

  it('with --config: the flag replaces the file\'s session.mode and nothing else of session', () => {
    const dir = tmp('gatehouse-dev-mode-file-');
    const file = join(dir, 'gatehouse.json');
    const session = { mode: 'server', store: 'memory', idleTimeout: '20m', revalidateEvery: '2m' };
    writeFileSync(file, JSON.stringify({ publicOrigin: 'https://localhost:8443', spa: { upstream: DEV_SERVER }, session }));
    const flagged = devConfig(parseDevArgs(['--config', file, '--session-mode', 'cookie']), {});
    expect(flagged.config.session).toMatchObject({ mode: 'cookie', store: 'memory', idleTimeout: 1_200_000, revalidateEvery: 120_000 });
    // Without the flag the file decides.
    expect(devConfig(parseDevArgs(['--config', file]), {}).config.session.mode).toBe('server');
  });

  it.each(['COOKIE', 'jwe', ''])('refuses %j, naming the flag and both values', (value) => {
    expect(() => devFrom(['--session-mode', value])).toThrow(DevUsageError);
    expect(() => devFrom(['--session-mode', value])).toThrow(`--session-mode ${JSON.stringify(value)}: must be "server" or "cookie"`);
  });
});

describe('the built CLI', () => {
  it.each([
    ['demo', ['demo', '--session-mode', 'jwt'], 'usage: gatehouse demo'],
    ['dev', ['dev', '--upstream-spa', DEV_SERVER, '--session-mode', 'jwt'], 'usage: gatehouse dev'],
  ])('gatehouse %s --session-mode jwt exits 2 with the flag, its values and the usage; no stack trace', async (_name, args, usage) => {
    const res = await run([...args, '--data', tmp('gatehouse-mode-cli-')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--session-mode "jwt": must be "server" or "cookie"');
    expect(res.stderr).toContain(usage);
    expect(res.stderr).toContain('[--session-mode server|cookie]');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stdout).toBe('');
  }, 30_000);
});
