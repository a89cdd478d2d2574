/**
 * The demo API as its own process (`gatehouse demo` forks it): an upstream in another process,
 * as in production, that knows Gatehouse only through its published keys. Configured by
 * environment; reports its origin to the parent over IPC and exits when the parent goes away.
 */
import { readFileSync } from 'node:fs';
import { startDemoApi } from './api.js';

const issuer = process.env.DEMO_API_ISSUER;
const jwksUrl = process.env.DEMO_API_JWKS_URL;
if (!issuer || !jwksUrl || !process.send) {
  process.stderr.write('demo api: started without DEMO_API_ISSUER / DEMO_API_JWKS_URL or an IPC channel\n');
  process.exit(2);
}
const caFile = process.env.DEMO_API_CA_FILE;
const api = await startDemoApi({ issuer, jwksUrl, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) });
const stop = () => void api.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.send({ origin: api.origin });
