import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { GatehouseError } from '../errors.js';
import { AccountError, requireUsername } from '../local/account-fields.js';
import type { Account, AccountStore } from '../local/accounts.js';
import { MAX_PASSWORD_BYTES } from '../local/passwords.js';

/** What `gatehouse users` needs; the entry point supplies process streams and the configured store. */
export interface UsersCommandContext {
  accounts: AccountStore;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Called after `passwd` succeeds: end the user's sessions (OWASP Session Management CS). */
  onPasswordChanged?: (accountId: string) => Promise<void>;
  /** Called after `remove` succeeds: end the removed user's sessions. */
  onAccountRemoved?: (accountId: string) => Promise<void>;
}

const USAGE = `usage: gatehouse users <command> --config FILE
  add <username> [--password-stdin] [--role ROLE]... [--name NAME]
  list [--json]
  remove <username>
  passwd <username> [--password-stdin]

Without --password-stdin the password is asked for twice on the terminal, without echo.
With it, the password is read from standard input up to EOF (one trailing newline is dropped):
  printf '%s\\n' "$PASSWORD" | gatehouse users add alice --password-stdin --config gatehouse.json
`;

/** A refusal to report on one line; `usage` errors exit 2, the rest 1. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Stdin piped to a password: enough for any password, bounded against a runaway pipe. */
const STDIN_LIMIT = 64 * 1024;

/**
 * `gatehouse users add|list|remove|passwd`. Returns the exit code: 0 done, 1 refused, 2 usage.
 * Passwords and hashes are never printed, not even in errors.
 */
export async function runUsersCommand(args: string[], ctx: UsersCommandContext): Promise<number> {
  try {
    const { values, positionals } = parse(args);
    const [command, username, ...extra] = positionals;
    // Never echo stray positionals: `add alice hunter2` would put a password in the error.
    if (extra.length > 0) throw new CliError(`too many arguments for "${command}"\n\n${USAGE}`, 2);
    const needUser = (): string => {
      if (!username) throw new CliError(`"${command}" needs a <username>\n\n${USAGE}`, 2);
      return username;
    };
    switch (command) {
      case 'add':
        return await add(ctx, needUser(), values);
      case 'list':
        if (username !== undefined) throw new CliError(`"list" takes no arguments\n\n${USAGE}`, 2);
        return await list(ctx, values.json === true);
      case 'remove':
        return await remove(ctx, needUser());
      case 'passwd':
        return await passwd(ctx, needUser(), values);
      case undefined:
      case 'help':
        ctx.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
    }
  } catch (error) {
    const { message, code } = describe(error);
    ctx.stderr.write(`gatehouse users: ${message}\n`);
    return code;
  }
}

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'password-stdin': { type: 'boolean' },
        role: { type: 'string', multiple: true },
        name: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    // parseArgs names the option, never its value.
    throw new CliError(`${(error as Error).message}\n\n${USAGE}`, 2);
  }
}

function describe(error: unknown): { message: string; code: number } {
  if (error instanceof CliError) return { message: error.message, code: error.exitCode };
  if (error instanceof AccountError || error instanceof GatehouseError) return { message: error.message, code: 1 };
  // Store and I/O errors. None of them is built from a password, so the message is safe to show.
  const cause = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
  return { message: `unexpected error: ${cause}`, code: 1 };
}

async function add(ctx: UsersCommandContext, username: string, values: Values): Promise<number> {
  refuseOptions(values, ['json'], 'add');
  // Check the name is valid and free before asking for a password twice.
  requireUsername(username);
  if (await ctx.accounts.findByUsername(username)) {
    throw new AccountError('account_exists', 'An account with this username already exists.');
  }
  const password = await readNewPassword(ctx, values['password-stdin'] === true);
  const account = await ctx.accounts.add({ username, password, roles: values.role ?? [], name: values.name });
  ctx.stdout.write(`added ${account.username} (id ${account.id})\n`);
  return 0;
}

async function list(ctx: UsersCommandContext, json: boolean): Promise<number> {
  const accounts = await ctx.accounts.list();
  if (json) {
    ctx.stdout.write(`${JSON.stringify(accounts.map(forJson), null, 2)}\n`);
    return 0;
  }
  if (accounts.length === 0) {
    ctx.stdout.write('no local accounts\n');
    return 0;
  }
  const rows = [
    ['USERNAME', 'NAME', 'ROLES', 'CREATED', 'PASSWORD CHANGED', 'ID'],
    ...accounts.map((a) => [
      a.username,
      a.name ?? '',
      a.roles.join(','),
      iso(a.createdAt),
      iso(a.passwordChangedAt),
      a.id,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length))) ?? [];
  for (const row of rows) {
    ctx.stdout.write(`${row.map((cell, i) => cell.padEnd((widths[i] ?? 0) + cell.length - [...cell].length)).join('  ').trimEnd()}\n`);
  }
  return 0;
}

async function remove(ctx: UsersCommandContext, username: string): Promise<number> {
  const account = await ctx.accounts.findByUsername(username);
  if (!account || !(await ctx.accounts.remove(username))) {
    throw new AccountError('account_not_found', 'No account with this username.');
  }
  ctx.stdout.write(`removed ${account.username}\n`);
  if (ctx.onAccountRemoved) await ctx.onAccountRemoved(account.id);
  return 0;
}

async function passwd(ctx: UsersCommandContext, username: string, values: Values): Promise<number> {
  refuseOptions(values, ['json', 'role', 'name'], 'passwd');
  if (!(await ctx.accounts.findByUsername(username))) {
    throw new AccountError('account_not_found', 'No account with this username.');
  }
  const password = await readNewPassword(ctx, values['password-stdin'] === true);
  const account = await ctx.accounts.setPassword(username, password);
  ctx.stdout.write(`password changed for ${account.username}\n`);
  // A new password must end sessions opened with the old one (OWASP Session Management CS).
  if (ctx.onPasswordChanged) {
    await ctx.onPasswordChanged(account.id);
    ctx.stdout.write(`ended the sessions of ${account.username}\n`);
  } else {
    ctx.stderr.write('note: existing sessions were not ended (no session store connected)\n');
  }
  return 0;
}

function refuseOptions(values: Values, names: (keyof Values)[], command: string): void {
  for (const name of names) {
    if (values[name] !== undefined) throw new CliError(`"${command}" does not take --${name}\n\n${USAGE}`, 2);
  }
}

function forJson(a: Account) {
  return { ...a, createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt), passwordChangedAt: iso(a.passwordChangedAt) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The new password: from stdin with `--password-stdin`, else prompted twice on a terminal. */
async function readNewPassword(ctx: UsersCommandContext, fromStdin: boolean): Promise<string> {
  if (fromStdin) return readPasswordFromStdin(ctx.stdin);
  if (!(ctx.stdin as NodeJS.ReadStream).isTTY) {
    throw new CliError(
      'no password given and standard input is not a terminal: pipe the password in and pass --password-stdin',
      2,
    );
  }
  return promptNewPassword(ctx.stdin, ctx.stderr);
}

/** Reads stdin to EOF and drops exactly one trailing newline (`\n` or `\r\n`), as `echo` adds one. */
async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += buf.length;
    if (size > STDIN_LIMIT) throw new CliError(`password too long (max ${MAX_PASSWORD_BYTES} bytes)`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const password = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (password === '') throw new CliError('no password on standard input');
  return password;
}

/**
 * Asks twice on the terminal. Readline in terminal mode puts the TTY in raw mode and does the
 * echoing itself, into `muted`, so nothing typed reaches the screen; prompts go to stderr so
 * stdout stays clean for scripts.
 */
async function promptNewPassword(stdin: NodeJS.ReadableStream, stderr: NodeJS.WritableStream): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: stdin, output: muted, terminal: true });
  // Ctrl-C ends the prompt instead of being swallowed by raw mode.
  rl.on('SIGINT', () => rl.close());
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string> => {
    stderr.write(prompt);
    const line = await lines.next();
    stderr.write('\n');
    if (line.done) throw new CliError('cancelled: no password entered');
    return line.value;
  };
  try {
    const first = await ask('New password: ');
    const second = await ask('Repeat password: ');
    if (first !== second) throw new CliError('the passwords do not match');
    if (first === '') throw new CliError('no password entered');
    return first;
  } finally {
    rl.close();
  }
}
