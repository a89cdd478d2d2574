/**
 * The SimpleSAMLphp test IdP with a signing SP (still no Gatehouse code, node-saml as the SP):
 * given the SP's certificate it accepts only signed AuthnRequests and logout messages, and the
 * harness's logout helpers walk SP-initiated and IdP-initiated Single Logout over HTTP-Redirect,
 * with the IdP's logout messages signed (or not, with `signLogout: false`).
 */
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CookieJar,
  describeWithSimpleSamlPhp,
  finishAtIdp,
  logOutAtIdp,
  NAMEID_TRANSIENT,
  type SimpleSamlIdp,
  signInAtIdp,
  startIdpInitiatedLogout,
  startSimpleSamlPhp,
} from '../helpers/simplesamlphp.js';

const SP_ENTITY_ID = 'https://sp.test/saml';
const ACS_URL = 'https://sp.test/acs';
const SLO_URL = 'https://sp.test/slo';
const AFTER_LOGOUT = 'https://sp.test/logged-out';
const BOB = { username: 'bob', password: 'bob-password-4567', attributes: { mail: ['bob@example.test'] } };

const spKeys = await generate([{ name: 'commonName', value: 'Gatehouse test SP' }], { keyType: 'rsa', keySize: 2048, algorithm: 'sha256' });

function signingSp(idp: SimpleSamlIdp, privateKey: string | null = spKeys.private): SAML {
  return new SAML({
    entryPoint: idp.ssoUrl,
    logoutUrl: idp.sloUrl,
    issuer: SP_ENTITY_ID,
    callbackUrl: ACS_URL,
    logoutCallbackUrl: SLO_URL,
    idpCert: idp.certificatePem,
    idpIssuer: idp.entityId,
    audience: SP_ENTITY_ID,
    wantAssertionsSigned: true,
    identifierFormat: NAMEID_TRANSIENT,
    disableRequestedAuthnContext: true,
    validateInResponseTo: ValidateInResponseTo.never,
    ...(privateKey ? { privateKey, signatureAlgorithm: 'sha256' as const } : {}),
  });
}

/** node-saml's redirect validation, as an SP's SLO endpoint would call it. */
function validateRedirect(sp: SAML, url: string) {
  const { searchParams, search } = new URL(url);
  return sp.validateRedirectAsync(Object.fromEntries(searchParams), search.slice(1));
}

async function signedInBob(idp: SimpleSamlIdp, jar: CookieJar) {
  const sp = signingSp(idp);
  const form = await signInAtIdp(await sp.getAuthorizeUrlAsync('', undefined, {}), BOB.username, BOB.password, jar);
  const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse });
  if (!profile) throw new Error('no profile');
  return { sp, profile };
}

describeWithSimpleSamlPhp('SimpleSAMLphp test IdP: signed requests and Single Logout', () => {
  let idp: SimpleSamlIdp;

  beforeAll(async () => {
    idp = await startSimpleSamlPhp({ spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, sloUrl: SLO_URL, spSigningCertPem: spKeys.cert, users: [BOB] });
  }, 60_000);

  afterAll(async () => {
    await idp?.stop();
  });

  it('accepts a signed AuthnRequest and refuses an unsigned one from the same SP', async () => {
    const signed = await signingSp(idp).getAuthorizeUrlAsync('', undefined, {});
    expect(new URL(signed).searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const form = await signInAtIdp(signed, BOB.username, BOB.password);
    expect(form.action).toBe(ACS_URL);

    const unsigned = await signingSp(idp, null).getAuthorizeUrlAsync('', undefined, {});
    expect(new URL(unsigned).searchParams.has('Signature')).toBe(false);
    await expect(signInAtIdp(unsigned, BOB.username, BOB.password)).rejects.toThrow(/no login form.*no signature found on message/i);
  });

  it('SP-initiated logout: a signed LogoutRequest gets a signed Success LogoutResponse, and the IdP session is gone', async () => {
    const jar = new CookieJar();
    const { sp, profile } = await signedInBob(idp, jar);
    const logoutRequest = await sp.getLogoutUrlAsync(profile, 'relay-logout', {});
    const back = await logOutAtIdp(logoutRequest, jar);

    expect(back.startsWith(`${SLO_URL}?SAMLResponse=`)).toBe(true);
    const params = new URL(back).searchParams;
    expect(params.get('RelayState')).toBe('relay-logout');
    expect(params.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(params.get('Signature')).toBeTruthy();
    expect(await validateRedirect(sp, back)).toMatchObject({ loggedOut: true });
    // The signature is really checked by node-saml: one flipped character and it is refused.
    const signature = params.get('Signature') as string;
    const tampered = new URL(back);
    tampered.searchParams.set('Signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
    await expect(validateRedirect(sp, tampered.href)).rejects.toThrow('Invalid query signature');

    // Logged out at the IdP: the next AuthnRequest shows the login form again (a wrong password fails).
    await expect(signInAtIdp(await sp.getAuthorizeUrlAsync('', undefined, {}), BOB.username, 'wrong', jar)).rejects.toThrow(/Incorrect username or password/);
  });

  it('refuses an unsigned LogoutRequest from the SP', async () => {
    const jar = new CookieJar();
    const { profile } = await signedInBob(idp, jar);
    const unsigned = await signingSp(idp, null).getLogoutUrlAsync(profile, '', {});
    await expect(logOutAtIdp(unsigned, jar)).rejects.toThrow(/instead of redirecting.*no signature found on message/i);
  });

  it('IdP-initiated logout: the IdP sends a signed LogoutRequest for the NameID, takes the SP answer and returns to ReturnTo', async () => {
    const jar = new CookieJar();
    const { sp, profile } = await signedInBob(idp, jar);
    const toSp = await startIdpInitiatedLogout(idp.sloUrl, jar, AFTER_LOGOUT);

    expect(toSp.startsWith(`${SLO_URL}?SAMLRequest=`)).toBe(true);
    expect(new URL(toSp).searchParams.get('Signature')).toBeTruthy();
    const { profile: logoutRequest, loggedOut } = await validateRedirect(sp, toSp);
    expect(loggedOut).toBe(true);
    expect(logoutRequest?.nameID).toBe(profile.nameID);
    expect(logoutRequest?.sessionIndex).toBe(profile.sessionIndex);

    const response = await sp.getLogoutResponseUrlAsync(logoutRequest as NonNullable<typeof logoutRequest>, new URL(toSp).searchParams.get('RelayState') ?? '', {}, true);
    expect(await finishAtIdp(response, jar)).toBe(AFTER_LOGOUT);
  });
});

describeWithSimpleSamlPhp('SimpleSAMLphp test IdP: signLogout false', () => {
  let idp: SimpleSamlIdp;

  beforeAll(async () => {
    idp = await startSimpleSamlPhp({ spEntityId: SP_ENTITY_ID, acsUrl: ACS_URL, sloUrl: SLO_URL, signLogout: false, users: [BOB] });
  }, 60_000);

  afterAll(async () => {
    await idp?.stop();
  });

  it('answers a LogoutRequest with an unsigned LogoutResponse', async () => {
    const jar = new CookieJar();
    const { sp, profile } = await signedInBob(idp, jar);
    const back = await logOutAtIdp(await sp.getLogoutUrlAsync(profile, '', {}), jar);
    expect(back.startsWith(`${SLO_URL}?SAMLResponse=`)).toBe(true);
    expect(new URL(back).searchParams.has('Signature')).toBe(false);
    expect(new URL(back).searchParams.has('SigAlg')).toBe(false);
    expect(await validateRedirect(sp, back)).toMatchObject({ loggedOut: true });
  });
});
