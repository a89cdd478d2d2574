import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, file descriptors, event-loop lag, GC), in one
 * registry per process, created on first use. They describe the process, not a gateway, and
 * their collectors start observers (GC, event-loop delay) that are never stopped: one set per
 * process, not one per gateway, is what keeps a process that creates many gateways (the test
 * suite, an embedding application) from accumulating them.
 */
export function processMetricsText(): Promise<string> {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry.metrics();
}
