import { Registry, collectDefaultMetrics } from 'prom-client';

/** Every maskq metric name starts with this, so dashboards can find ours among others. */
export const metricsPrefix = 'maskq_';

export interface MetricsRegistryOptions {
  /** `api`, `worker`, `webhooks`: added to every series as the `service` label. */
  service: string;
  /** Node process metrics (CPU, memory, event loop lag, GC) with the maskq_ prefix. Default true. */
  defaultMetrics?: boolean;
}

/**
 * One registry per process (or per test), never prom-client's global one, so
 * tests build isolated instances and API and worker each expose only theirs.
 */
export function createMetricsRegistry({ service, defaultMetrics = true }: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (defaultMetrics) collectDefaultMetrics({ register: registry, prefix: metricsPrefix });
  return registry;
}

export type { Registry };
