import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TlsFiles {
  cert: string;
  key: string;
}

/** Renew a little before expiry, so a long-running dev server never starts with a dying certificate. */
const RENEW_BEFORE_MS = 7 * 24 * 60 * 60 * 1000;
const VALIDITY_DAYS = 365;

/**
 * A certificate for localhost, 127.0.0.1 and ::1, generated once and kept under
 * `<dataDir>/tls/`, so a browser exception or a trusted import survives restarts.
 * Regenerated when missing, unreadable or about to expire.
 */
export async function loadOrCreateSelfSigned(dataDir: string, now = Date.now()): Promise<TlsFiles & { certFile: string; created: boolean }> {
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'localhost.crt');
  const keyFile = join(dir, 'localhost.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    try {
      if (Date.parse(new X509Certificate(cert).validTo) - RENEW_BEFORE_MS > now) {
        return { cert, key: readFileSync(keyFile, 'utf8'), certFile, created: false };
      }
    } catch {
      // Unreadable certificate: fall through and make a new one.
    }
  }
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + VALIDITY_DAYS * 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  writeFileSync(certFile, pems.cert);
  return { cert: pems.cert, key: pems.private, certFile, created: true };
}
