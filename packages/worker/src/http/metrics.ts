import { Registry, collectDefaultMetrics } from 'prom-client';

/** A registry per process (no global default), so tests can build many. Real worker metrics come later. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'maskq_worker_' });
  return registry;
}
