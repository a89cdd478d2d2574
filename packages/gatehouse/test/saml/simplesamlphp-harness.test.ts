/**
 * The SimpleSAMLphp test IdP itself, with no Gatehouse code: a fake SP (node-saml) sends an
 * unsigned AuthnRequest, the harness signs in, and the Response is checked by node-saml. Proves
 * the harness before the interoperability tests rely on it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CookieJar, describeWithSimpleSamlPhp, NAMEID_TRANSIENT, type SimpleSamlIdp, signInAtIdp, startSimpleSamlPhp } from '../helpers/simplesamlphp.js';

const SP_ENTITY_ID = 'https://sp.test/saml';
const ACS_URL = 'https://sp.test/acs';
const SLO_URL = 'https://sp.test/slo';
const ALICE = {
  username: 'alice',
  password: 'alice-password-0123',
  attributes: { mail: ['alice@example.test'], groups: ['staff', 'admins'], displayName: ['Alice Liddell'] },
};

function fakeSp(idp: SimpleSamlIdp): SAML {
  return new SAML({
    entryPoint: idp.ssoUrl,
    issuer: SP_ENTITY_ID,
    callbackUrl: ACS_URL,
    idpCert: idp.certificatePem,
    idpIssuer: idp.entityId,
    audience: SP_ENTITY_ID,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    identifierFormat: NAMEID_TRANSIENT,
    disableRequestedAuthnContext: true,
    validateInResponseTo: ValidateInResponseTo.never,
  });
}

async function phpServerPids(port: number): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-f', `php -S 127.0.0.1:${port} `]);
    return stdout.trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

describeWithSimpleSamlPhp('SimpleSAMLphp test IdP harness', () => {
  let idp: SimpleSamlIdp;

  beforeAll(async () => {
    const started = Date.now();
    idp = await startSimpleSamlPhp({ spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, sloUrl: SLO_URL, users: [ALICE] });
    console.info(`[simplesamlphp] ready in ${Date.now() - started} ms at ${idp.baseUrl}`);
  }, 60_000);

  afterAll(async () => {
    await idp?.stop();
  });

  it('publishes IdP metadata with its entity id, SSO/SLO endpoints and signing certificate', () => {
    expect(idp.metadataXml).toContain(`entityID="${idp.entityId}"`);
    expect(idp.metadataXml).toContain(`Location="${idp.ssoUrl}"`);
    expect(idp.metadataXml).toContain(`Location="${idp.sloUrl}"`);
    const certBody = idp.certificatePem.replace(/-----[A-Z ]+-----|\s+/g, '');
    expect(idp.metadataXml.replace(/\s+/g, '')).toContain(certBody);
  });

  it('signs alice in for an unsigned AuthnRequest; node-saml accepts the signed Response and reads her attributes', async () => {
    const sp = fakeSp(idp);
    const redirect = await sp.getAuthorizeUrlAsync('relay-123', undefined, {});
    expect(redirect.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);

    const form = await signInAtIdp(redirect, ALICE.username, ALICE.password);
    expect(form.action).toBe(ACS_URL);
    expect(form.RelayState).toBe('relay-123');

    const request = inflateRawSync(Buffer.from(new URL(redirect).searchParams.get('SAMLRequest') as string, 'base64')).toString('utf8');
    const requestId = /\bID="([^"]+)"/.exec(request)?.[1];
    expect(requestId).toBeTruthy();

    const xml = Buffer.from(form.SAMLResponse, 'base64').toString('utf8');
    expect(xml).toMatch(/^<samlp:Response\b/);
    expect(xml).toContain(`InResponseTo="${requestId}"`);
    expect(xml).toContain(`<saml:Issuer>${idp.entityId}</saml:Issuer>`);
    expect(xml).toContain(`<saml:Audience>${SP_ENTITY_ID}</saml:Audience>`);
    // Response and Assertion both signed, RSA-SHA256.
    expect(xml.match(/<ds:Signature\b/g)).toHaveLength(2);
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');

    const { profile, loggedOut } = await sp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse });
    expect(loggedOut).toBe(false);
    expect(profile?.issuer).toBe(idp.entityId);
    expect(profile?.nameIDFormat).toBe(NAMEID_TRANSIENT);
    expect(profile?.nameID).toMatch(/^_[0-9a-f]{20,}$/);
    expect(profile?.mail).toBe('alice@example.test');
    expect(profile?.displayName).toBe('Alice Liddell');
    expect(profile?.groups).toEqual(['staff', 'admins']);
  });

  it('signs in again from the same cookie jar without the password (IdP SSO session)', async () => {
    const sp = fakeSp(idp);
    const jar = new CookieJar();
    await signInAtIdp(await sp.getAuthorizeUrlAsync('', undefined, {}), ALICE.username, ALICE.password, jar);
    const again = await signInAtIdp(await sp.getAuthorizeUrlAsync('', undefined, {}), ALICE.username, 'not-the-password', jar);
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: again.SAMLResponse });
    expect(profile?.mail).toBe('alice@example.test');
  });

  it('refuses a wrong password: the login form comes back with the error, no SAMLResponse', async () => {
    const sp = fakeSp(idp);
    const redirect = await sp.getAuthorizeUrlAsync('', undefined, {});
    await expect(signInAtIdp(redirect, ALICE.username, 'wrong-password')).rejects.toThrow(/did not answer with a SAMLResponse.*Incorrect username or password/);
  });

  it('refuses a Response node-saml was not configured for (another audience)', async () => {
    const form = await signInAtIdp(await fakeSp(idp).getAuthorizeUrlAsync('', undefined, {}), ALICE.username, ALICE.password);
    const otherSp = new SAML({ ...fakeSp(idp).options, audience: 'https://other-sp.test/saml' });
    await expect(otherSp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse })).rejects.toThrow(/audience/i);
  });

  it('stop() ends its php server (no process left), removes its directory, and leaves another IdP running', async () => {
    const other = await startSimpleSamlPhp({ spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, sloUrl: SLO_URL, users: [ALICE] });
    expect(await phpServerPids(other.port)).not.toBe('');
    expect(existsSync(join(other.dir, 'metadata', 'saml20-sp-remote.php'))).toBe(true);
    await other.stop();
    expect(await phpServerPids(other.port)).toBe('');
    expect(existsSync(other.dir)).toBe(false);
    // The first IdP is untouched.
    expect((await fetch(idp.metadataUrl).then((r) => r.text())).includes('IDPSSODescriptor')).toBe(true);
  }, 30_000);
});
