import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runUsersCommand, type UsersCommandContext } from '../../src/cli/users.js';
import { type AccountStore, createAccountStore } from '../../src/local/accounts.js';
import { verifyPassword } from '../../src/local/passwords.js';

const PASSWORD = 'correct horse battery staple';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

describe('gatehouse users', () => {
  let accounts: AccountStore;

  beforeEach(() => {
    accounts = createAccountStore('memory');
  });
  afterEach(() => accounts.close());

  /** Runs the command with `input` on stdin (then EOF). `tty` makes stdin look like a terminal. */
  async function run(args: string[], input = '', opts: { tty?: boolean; extra?: Partial<UsersCommandContext> } = {}): Promise<Run> {
    const stdin = new PassThrough();
    if (opts.tty) Object.assign(stdin, { isTTY: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    stdin.end(input);
    const code = await runUsersCommand(args, { accounts, stdin, stdout, stderr, ...opts.extra });
    return { code, stdout: out(), stderr: err() };
  }

  async function hashOf(username: string): Promise<string> {
    return (await accounts.findByUsername(username))?.passwordHash ?? '';
  }

  it('adds a user from --password-stdin, dropping exactly one trailing newline', async () => {
    const result = await run(['add', 'Alice', '--password-stdin', '--role', 'admin', '--role', 'dev', '--name', 'Alice A.'], `${PASSWORD}\n`);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^added alice \(id [0-9a-f-]{36}\)\n$/);
    const account = await accounts.findByUsername('alice');
    expect(account).toMatchObject({ roles: ['admin', 'dev'], name: 'Alice A.' });
    expect(await verifyPassword(await hashOf('alice'), PASSWORD)).toBe(true);

    await run(['add', 'bob', '--password-stdin'], `${PASSWORD}\r\n`);
    expect(await verifyPassword(await hashOf('bob'), PASSWORD)).toBe(true);
    // Only one newline: a second one is part of the password.
    await run(['add', 'carol', '--password-stdin'], `${PASSWORD}\n\n`);
    expect(await verifyPassword(await hashOf('carol'), PASSWORD)).toBe(false);
    expect(await verifyPassword(await hashOf('carol'), `${PASSWORD}\n`)).toBe(true);
  });

  it('lists users as a table and as JSON, never with a hash', async () => {
    await run(['add', 'alice', '--password-stdin', '--role', 'admin', '--name', 'Alice A.'], PASSWORD);
    await run(['add', 'bob', '--password-stdin'], PASSWORD);

    const table = await run(['list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USERNAME\s+NAME\s+ROLES\s+CREATED\s+PASSWORD CHANGED\s+ID$/);
    expect(lines[1]).toMatch(/^alice\s+Alice A\.\s+admin\s+\d{4}-\d\d-\d\dT/);
    expect(lines[2]).toMatch(/^bob\s+/);
    expect(table.stdout).not.toMatch(/argon2|\$/);
    expect(table.stdout).not.toContain(PASSWORD);

    const json = await run(['list', '--json']);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(parsed.map((a) => a.username)).toEqual(['alice', 'bob']);
    expect(parsed[0]).toMatchObject({ name: 'Alice A.', roles: ['admin'], createdAt: expect.stringMatching(/Z$/) });
    expect(parsed[0]).not.toHaveProperty('passwordHash');
    expect(json.stdout).not.toContain('argon2');
  });

  it('changes a password with passwd: the old one fails, the new one verifies, sessions are ended', async () => {
    await run(['add', 'alice', '--password-stdin'], PASSWORD);
    const id = (await accounts.findByUsername('alice'))?.id;
    const onPasswordChanged = vi.fn(async (_accountId: string) => {});
    const result = await run(['passwd', 'ALICE', '--password-stdin'], 'a whole new passphrase\n', { extra: { onPasswordChanged } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('password changed for alice');
    expect(await verifyPassword(await hashOf('alice'), PASSWORD)).toBe(false);
    expect(await verifyPassword(await hashOf('alice'), 'a whole new passphrase')).toBe(true);
    expect(onPasswordChanged).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('passwd without a session hook says the sessions were not ended', async () => {
    await run(['add', 'alice', '--password-stdin'], PASSWORD);
    const result = await run(['passwd', 'alice', '--password-stdin'], 'a whole new passphrase');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/sessions were not ended/);
  });

  it('passwd refuses an unknown user and a weak password, leaving the old one', async () => {
    const onPasswordChanged = vi.fn(async () => {});
    expect(await run(['passwd', 'nobody', '--password-stdin'], PASSWORD, { extra: { onPasswordChanged } })).toMatchObject({
      code: 1,
      stderr: 'gatehouse users: No account with this username.\n',
    });
    await run(['add', 'alice', '--password-stdin'], PASSWORD);
    const weak = await run(['passwd', 'alice', '--password-stdin'], 'short', { extra: { onPasswordChanged } });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/too short/);
    expect(await verifyPassword(await hashOf('alice'), PASSWORD)).toBe(true);
    expect(onPasswordChanged).not.toHaveBeenCalled();
  });

  it('removes a user, and calls the session hook', async () => {
    await run(['add', 'alice', '--password-stdin'], PASSWORD);
    const id = (await accounts.findByUsername('alice'))?.id;
    const onAccountRemoved = vi.fn(async (_accountId: string) => {});
    expect(await run(['remove', 'alice'], '', { extra: { onAccountRemoved } })).toMatchObject({ code: 0, stdout: 'removed alice\n' });
    expect(onAccountRemoved).toHaveBeenCalledExactlyOnceWith(id);
    expect(await accounts.list()).toEqual([]);
    expect(await run(['remove', 'alice'])).toMatchObject({ code: 1, stderr: 'gatehouse users: No account with this username.\n' });
  });

  it('refuses a weak password, printing why and never the password', async () => {
    const result = await run(['add', 'alice', '--password-stdin'], 'hunter2\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('gatehouse users: Password too short: use at least 8 characters.\n');
    expect(result.stdout + result.stderr).not.toContain('hunter2');
    expect(await accounts.list()).toEqual([]);
  });

  it('refuses a duplicate username', async () => {
    await run(['add', 'alice', '--password-stdin'], PASSWORD);
    const result = await run(['add', ' Alice', '--password-stdin'], 'another passphrase');
    expect(result).toMatchObject({ code: 1, stderr: 'gatehouse users: An account with this username already exists.\n' });
  });

  it('without --password-stdin and no terminal, fails with a clear message', async () => {
    const result = await run(['add', 'alice'], `${PASSWORD}\n`);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/standard input is not a terminal.*--password-stdin/);
    expect(await accounts.list()).toEqual([]);
  });

  it('on a terminal, asks twice without echoing the password', async () => {
    const result = await run(['add', 'alice'], `${PASSWORD}\n${PASSWORD}\n`, { tty: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('New password: \nRepeat password: \n');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(await verifyPassword(await hashOf('alice'), PASSWORD)).toBe(true);
  });

  it('on a terminal, refuses two different entries', async () => {
    const result = await run(['add', 'alice'], `${PASSWORD}\nsomething else\n`, { tty: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/do not match/);
    expect(result.stderr).not.toContain(PASSWORD);
    expect(await accounts.list()).toEqual([]);
  });

  it('never echoes a stray argument (it may be a password)', async () => {
    const result = await run(['add', 'alice', 'Sup3r-Secret-Value', '--password-stdin'], PASSWORD);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/too many arguments/);
    expect(result.stderr).not.toContain('Sup3r-Secret-Value');
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await run([])).code).toBe(2);
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "frobnicate"/) });
    expect(await run(['add'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs a <username>/) });
    expect(await run(['list', '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--bogus/) });
    expect(await run(['passwd', 'alice', '--role', 'admin'])).toMatchObject({ code: 2 });
  });

  it('refuses an invalid username before asking for a password', async () => {
    const result = await run(['add', 'bad\u0007name']);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/control or invisible/) });
  });
});
