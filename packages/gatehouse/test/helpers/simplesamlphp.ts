/**
 * A real SAML 2.0 identity provider for the interoperability tests: Debian's SimpleSAMLphp 1.19
 * under PHP's built-in server (no Apache). The package is never installed (its dependencies pull
 * in Apache): its .deb is fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
 * under the OS temp dir, shared by every run on the machine. Each IdP gets its own key, certificate,
 * configuration, session store and port in a fresh temp directory, removed by `stop()`.
 *
 * Tests use `describeWithSimpleSamlPhp`: skipped with the reason printed when `php` (with the
 * DOM and OpenSSL extensions) is missing, except under `CI=true`, where that fails the run.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';
import { describe } from 'vitest';
import { NAMEID_TRANSIENT, type PhpValue, type SimpleSamlUser, writeInstance } from './simplesamlphp-config.js';
import { freePort } from './redis-server.js';

export { NAMEID_TRANSIENT, type PhpValue, SAML_BINDING_POST, SAML_BINDING_REDIRECT, type SimpleSamlUser } from './simplesamlphp-config.js';
export { CookieJar, type IdpPostForm, logOutAtIdp, signInAtIdp, startIdpInitiatedLogout, finishAtIdp, idpInitiatedSignInUrl } from './simplesamlphp-browser.js';

const run = promisify(execFile);

/** The packaged version the configuration is written for (1.x; 2.x changed the layout). */
export const SIMPLESAMLPHP_VERSION = '1.19';
const CACHE_DIR = join(tmpdir(), 'gatehouse-simplesamlphp', '1.19.7');
const READY_TIMEOUT_MS = 15_000;

export interface SimpleSamlOptions {
  /** The SP's entity id, as the AuthnRequest's Issuer and the assertion's Audience. */
  spEntityId: string;
  /** Where the IdP POSTs the Response (HTTP-POST binding). */
  acsUrl: string;
  /** Where the IdP sends LogoutRequests and LogoutResponses (HTTP-Redirect binding). */
  sloUrl: string;
  /** The SP's signing certificate (PEM). When given, unsigned AuthnRequests and logout messages are refused. */
  spSigningCertPem?: string;
  /** Whether the IdP signs its LogoutRequests/LogoutResponses (default true; SimpleSAMLphp's own default is false). */
  signLogout?: boolean;
  /** The NameID format the IdP issues (default transient). */
  nameIdFormat?: string;
  /** The IdP's entity id (default: its metadata URL, as SimpleSAMLphp would publish it). */
  idpEntityId?: string;
  users: SimpleSamlUser[];
  /** Extra hosts (`host[:port]`) the IdP may redirect to; the ACS and SLO hosts are always trusted. */
  trustedUrlDomains?: string[];
  /** Merged over the generated SP-remote metadata entry, e.g. `{ 'saml20.sign.response': false }`. */
  spMetadataOverrides?: Record<string, PhpValue>;
  /** Merged over the generated IdP-hosted metadata entry. */
  idpMetadataOverrides?: Record<string, PhpValue>;
}

export interface SimpleSamlIdp {
  /** `http://127.0.0.1:PORT/simplesaml/` */
  baseUrl: string;
  port: number;
  /** The instance directory (generated config/ and metadata/, sessions, logs); removed by `stop()`. */
  dir: string;
  entityId: string;
  metadataUrl: string;
  /** The IdP's SAML metadata as served at start-up. */
  metadataXml: string;
  /** SingleSignOnService (HTTP-Redirect and HTTP-POST). */
  ssoUrl: string;
  /** SingleLogoutService (HTTP-Redirect). */
  sloUrl: string;
  /** The IdP's signing certificate (PEM, self-signed RSA 2048). */
  certificatePem: string;
  /** The server's recent stderr (request log, SimpleSAMLphp warnings): for failure messages. */
  logs(): string;
  /** Kills the server's whole process group and removes the instance directory. */
  stop(): Promise<void>;
}

function phpUsable(): { ok: true } | { ok: false; reason: string } {
  try {
    const out = execFileSync('php', ['-r', 'echo extension_loaded("dom") && extension_loaded("openssl") ? "ok" : "missing";'], { encoding: 'utf8', timeout: 10_000 });
    return out.trim() === 'ok' ? { ok: true } : { ok: false, reason: 'php lacks the dom/openssl extensions (install php-xml)' };
  } catch {
    return { ok: false, reason: 'php is not installed (install php-cli php-xml)' };
  }
}

const php = phpUsable();
const inCi = process.env.CI === 'true';
type Describe = typeof describe;

function gate(): Describe {
  if (php.ok) return describe;
  if (inCi) throw new Error(`SimpleSAMLphp tests need PHP: ${php.reason}. CI must run them.`);
  console.warn(`[skip] ${php.reason}: the SimpleSAMLphp interoperability tests are skipped (they run in CI).`);
  return describe.skip as unknown as Describe;
}

/** `describe` when PHP can run SimpleSAMLphp; skipped (or, under CI=true, failing) otherwise. */
export const describeWithSimpleSamlPhp: Describe = gate();

/**
 * The unpacked package's `usr/share/simplesamlphp`, downloading and unpacking it on first use.
 * Parallel test files may race here: each works in its own scratch dir and renames into place.
 */
export async function simpleSamlPhpRoot(): Promise<string> {
  const root = join(CACHE_DIR, 'root', 'usr', 'share', 'simplesamlphp');
  if (existsSync(join(root, 'www', '_include.php'))) return root;
  mkdirSync(CACHE_DIR, { recursive: true });
  const scratch = mkdtempSync(join(CACHE_DIR, 'unpack-'));
  try {
    let deb = readdirSync(CACHE_DIR).find((name) => /^simplesamlphp_.*\.deb$/.test(name));
    if (!deb) {
      try {
        await run('apt-get', ['download', 'simplesamlphp'], { cwd: scratch, timeout: 120_000 });
      } catch (error) {
        throw new Error(`cannot obtain SimpleSAMLphp: \`apt-get download simplesamlphp\` failed: ${(error as { stderr?: string }).stderr ?? error}`);
      }
      deb = readdirSync(scratch).find((name) => name.endsWith('.deb'));
      if (!deb) throw new Error('cannot obtain SimpleSAMLphp: apt-get download produced no .deb');
      renameSync(join(scratch, deb), join(CACHE_DIR, deb));
    }
    const { stdout: version } = await run('dpkg-deb', ['-f', join(CACHE_DIR, deb), 'Version']);
    if (!version.startsWith(`${SIMPLESAMLPHP_VERSION}.`)) {
      throw new Error(`SimpleSAMLphp ${version.trim()} found; the test IdP is written for ${SIMPLESAMLPHP_VERSION}.x`);
    }
    await run('dpkg', ['-x', join(CACHE_DIR, deb), join(scratch, 'root')], { timeout: 120_000 });
    if (!existsSync(root)) {
      try {
        renameSync(join(scratch, 'root'), join(CACHE_DIR, 'root'));
      } catch (error) {
        // Another test file unpacked it first: theirs is as good as ours.
        if (!existsSync(root)) throw error;
      }
    }
    return root;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function makeIdpKeyPair(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'Gatehouse test SimpleSAMLphp IdP' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 7 * 86_400_000),
  });
  return { key: pems.private, cert: pems.cert };
}

function hostOf(url: string): string {
  const { protocol, hostname, port } = new URL(url);
  const standard = (protocol === 'http:' && port === '80') || (protocol === 'https:' && port === '443') || port === '';
  return standard ? hostname : `${hostname}:${port}`;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole group, so PHP_CLI_SERVER_WORKERS children die too.
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

async function waitForMetadata(url: string, child: ChildProcess, logs: () => string): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`SimpleSAMLphp's php -S exited (${child.exitCode ?? child.signalCode}) before answering:\n${logs()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      const body = await response.text();
      // Error pages answer 200 too: only real IdP metadata counts.
      if (body.includes('IDPSSODescriptor')) return body;
      last = `HTTP ${response.status}: ${body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 500)}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`SimpleSAMLphp did not serve IdP metadata at ${url} within ${READY_TIMEOUT_MS} ms (last: ${last}); stderr:\n${logs()}`);
}

/** Starts a configured SimpleSAMLphp IdP on a free port; resolves once it serves its metadata. */
export async function startSimpleSamlPhp(options: SimpleSamlOptions): Promise<SimpleSamlIdp> {
  if (!php.ok) throw new Error(`cannot start SimpleSAMLphp: ${php.reason}`);
  const root = await simpleSamlPhpRoot();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}/simplesaml/`;
  const metadataUrl = `${baseUrl}saml2/idp/metadata.php`;
  const entityId = options.idpEntityId ?? metadataUrl;
  const { key, cert } = await makeIdpKeyPair();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssp-'));
  const configDir = writeInstance({
    dir,
    baseUrl,
    idpEntityId: entityId,
    idpKeyPem: key,
    idpCertPem: cert,
    sp: {
      entityId: options.spEntityId,
      acsUrl: options.acsUrl,
      sloUrl: options.sloUrl,
      signingCertPem: options.spSigningCertPem,
      signLogout: options.signLogout ?? true,
      nameIdFormat: options.nameIdFormat ?? NAMEID_TRANSIENT,
    },
    users: options.users,
    trustedUrlDomains: [...new Set([hostOf(options.acsUrl), hostOf(options.sloUrl), ...(options.trustedUrlDomains ?? [])])],
    spMetadataOverrides: options.spMetadataOverrides ?? {},
    idpMetadataOverrides: options.idpMetadataOverrides ?? {},
  });
  // The document root holds only `simplesaml` -> the package's www/: PHP's server then maps
  // /simplesaml/module.php/core/... to module.php with PATH_INFO, no router script needed.
  const docroot = join(dir, 'docroot');
  mkdirSync(docroot);
  symlinkSync(join(root, 'www'), join(docroot, 'simplesaml'));

  const child = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', docroot, '-d', 'display_errors=0', '-d', 'log_errors=1'], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: configDir },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_000);
  });
  const logs = () => stderr;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
    killGroup(child, 'SIGKILL'); // any worker that outlived its parent
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const metadataXml = await waitForMetadata(metadataUrl, child, logs);
    return {
      baseUrl,
      port,
      dir,
      entityId,
      metadataUrl,
      metadataXml,
      ssoUrl: `${baseUrl}saml2/idp/SSOService.php`,
      sloUrl: `${baseUrl}saml2/idp/SingleLogoutService.php`,
      certificatePem: cert,
      logs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
