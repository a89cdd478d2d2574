import { readFileSync } from 'node:fs';
import type { GatehouseConfig } from './config/schema.js';
import { createGatehouse, type Gatehouse, type GatehouseDeps } from './server.js';
import { loadOrCreateSelfSigned } from './tls/self-signed.js';

// Starting and stopping a gateway, for the CLI and for embedders: kept out of cli/ so that
// importing the library never loads the command-line code.

/** TLS material for `listen.tls`: generated, read from files, or none (TLS ends at a proxy). */
export async function resolveTls(config: GatehouseConfig): Promise<{ cert: string; key: string } | null> {
  const tls = config.listen.tls;
  if (tls === false) return null;
  if (tls === 'self-signed') {
    const generated = await loadOrCreateSelfSigned(config.dataDir);
    return { cert: generated.cert, key: generated.key };
  }
  return { cert: readFileSync(tls.cert, 'utf8'), key: readFileSync(tls.key, 'utf8') };
}

/** Builds the gateway for a config and starts listening. */
export async function startGatehouse(config: GatehouseConfig, deps: GatehouseDeps = {}): Promise<Gatehouse> {
  const https = deps.https === undefined ? await resolveTls(config) : deps.https;
  const gatehouse = await createGatehouse(config, { ...deps, https });
  await gatehouse.app.listen({ host: config.listen.host, port: config.listen.port });
  if (gatehouse.metricsListener && config.metrics.port !== undefined) {
    try {
      await gatehouse.metricsListener.listen({ host: config.metrics.host, port: config.metrics.port });
    } catch (error) {
      // A metrics port that cannot be bound is a misconfiguration: fail the start, not half-run.
      await gatehouse.close();
      throw error;
    }
  }
  // Discover every provider now, so a wrong issuer or an unreachable provider shows in the log at
  // start-up; sign-in retries discovery on first use either way.
  for (const provider of gatehouse.providers.values()) {
    provider.client().catch((error: unknown) => gatehouse.app.log.warn({ provider: provider.config.id }, (error as Error).message));
  }
  return gatehouse;
}

/** Graceful stop: finish in-flight requests, close the stores, then resolve. */
export function waitForShutdown(gatehouse: Gatehouse): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      gatehouse.close().then(resolve, (error: unknown) => {
        gatehouse.app.log.error({ err: error }, 'error while shutting down');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
