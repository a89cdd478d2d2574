import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KeysCommandContext, runKeysCommand } from '../../src/cli/keys.js';
import { resolveConfig } from '../../src/config/load.js';
import { generateKey, readKeyFile, type SecretKey, serializeKeyRing } from '../../src/keys/keyring.js';
import { openKeyRing } from '../../src/keys/open.js';
import { seal, unseal } from '../../src/keys/seal.js';
import { fakeClock } from '../local/fake-clock.js';

const HOUR = 3_600_000;

let dir: string;
let configFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-cli-'));
  configFile = join(dir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ publicOrigin: 'https://app.example', dataDir: './data', keys: { gracePeriod: '12h' } }));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

/** Runs `gatehouse keys <args> --config <file>` in process, with no GATEHOUSE_* variables but `env`. */
async function run(args: string[], context: Omit<KeysCommandContext, 'stdout' | 'stderr'> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const code = await runKeysCommand([...args, '--config', configFile], { env: {}, ...context, stdout, stderr });
  return { code, stdout: out(), stderr: err() };
}

const keyFile = () => join(dir, 'data', 'keys.json');

describe('gatehouse keys', () => {
  it('export prints the ring on one line that GATEHOUSE_KEYS__RING accepts, and warns on stderr that it is a secret', async () => {
    const clock = fakeClock();
    expect((await run(['generate'], { clock })).code).toBe(0);
    expect((await run(['rotate'], { clock })).code).toBe(0);
    const kids = readKeyFile(keyFile()).map((k) => k.kid);

    const result = await run(['export'], { clock });
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trimEnd()).not.toContain('\n');
    expect(result.stderr).toMatch(/^warning: this output is the secret key ring from key file .*keys\.json: whoever holds it can forge sessions/);
    const exported = result.stdout.trimEnd();
    expect(JSON.parse(exported).keys.map((k: { kid: string }) => k.kid)).toEqual(kids);

    // An instance given the exported value opens what an instance on the file sealed.
    const cfg = (env: Record<string, string>) => resolveConfig(JSON.parse(readFileSync(configFile, 'utf8')), { baseDir: dir, env });
    const fromFile = openKeyRing(cfg({}), { clock });
    const fromEnv = openKeyRing(cfg({ GATEHOUSE_KEYS__RING: exported }), { clock });
    expect(await unseal(fromEnv, 'session-cookie', await seal(fromFile, 'session-cookie', { ok: 1 }))).toEqual({ ok: 1 });

    // Exporting the env ring again gives the same line.
    expect((await run(['export'], { clock, env: { GATEHOUSE_KEYS__RING: exported } })).stdout.trimEnd()).toBe(exported);
  });

  it('rotate refuses when keys.ring is set, changes nothing, and says what to do instead', async () => {
    const ring = serializeKeyRing([generateKey()]);
    const result = await run(['rotate'], { env: { GATEHOUSE_KEYS__RING: ring } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('takes its key ring from keys.ring (GATEHOUSE_KEYS__RING), which rotate cannot change; nothing was rotated');
    expect(result.stderr).toContain('gatehouse keys export --config FILE');
    expect(() => statSync(keyFile())).toThrow(/ENOENT/);
  });

  it('generate with keys.ring set writes no key file', async () => {
    const key = generateKey();
    const result = await run(['generate'], { env: { GATEHOUSE_KEYS__RING: serializeKeyRing([key]) } });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`key ring from keys.ring (GATEHOUSE_KEYS__RING): current key ${key.kid}\n`);
    expect(() => statSync(keyFile())).toThrow(/ENOENT/);
  });

  it('list shows each key as current, decrypts until <date>, or retired, and never a secret', async () => {
    const clock = fakeClock();
    const t0 = clock.now;
    const keys: SecretKey[] = [
      { ...generateKey(t0), kid: 'cur' },
      { ...generateKey(t0 - 13 * HOUR), kid: 'mid' },
      { ...generateKey(t0 - 14 * HOUR), kid: 'old' },
    ];
    const result = await run(['list'], { clock, env: { GATEHOUSE_KEYS__RING: serializeKeyRing(keys) } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `cur  ${new Date(t0).toISOString()}  current`,
        // mid was replaced at t0, old at t0 - 13 h: with a 12 h grace only mid still decrypts.
        `mid  ${new Date(t0 - 13 * HOUR).toISOString()}  decrypts until ${new Date(t0 + 12 * HOUR).toISOString()}`,
        `old  ${new Date(t0 - 14 * HOUR).toISOString()}  retired`,
        '',
      ].join('\n'),
    );
    for (const key of keys) expect(result.stdout).not.toContain(key.secret.toString('base64url'));
  });

  it('rotate prints how long each older key still decrypts, and removes the retired ones', async () => {
    const clock = fakeClock();
    const t0 = clock.now;
    await run(['generate'], { clock });
    const first = readKeyFile(keyFile())[0] as SecretKey;
    clock.advance(HOUR);
    const second = await run(['rotate'], { clock });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`  ${first.kid} still decrypts until ${new Date(t0 + 13 * HOUR).toISOString()}\n`);

    clock.advance(12 * HOUR);
    const third = await run(['rotate'], { clock });
    expect(third.stdout).toContain(`removed 1 retired key(s): ${first.kid}\n`);
    expect(readKeyFile(keyFile()).map((k) => k.kid)).not.toContain(first.kid);
    expect(readKeyFile(keyFile())).toHaveLength(2);
  });

  it('a malformed GATEHOUSE_KEYS__RING is GH_KEYRING_UNREADABLE for every subcommand that reads it', async () => {
    for (const sub of ['list', 'export', 'generate']) {
      await expect(run([sub], { env: { GATEHOUSE_KEYS__RING: '{"keys":[]}' } }), sub).rejects.toMatchObject({
        code: 'GH_KEYRING_UNREADABLE',
        message: expect.stringMatching(/^keys\.ring \(GATEHOUSE_KEYS__RING\) holds no keys/),
      });
    }
  });

  it('an unknown subcommand prints the usage, export included, and exits 2', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('gatehouse keys generate|rotate|list|export --config FILE');
  });
});
