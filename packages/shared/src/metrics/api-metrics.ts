import { Counter, type Registry } from 'prom-client';
import { createHttpMetrics, type HttpMetrics } from './http-metrics.js';
import { createQueueMetrics, type QueueMetrics, type QueueMetricsOptions } from './queue-metrics.js';

/** Endpoints that enqueue detection jobs; anything else is a programming error. */
export const submitEndpoints = ['detect', 'detect_batch', 'detect_sync'] as const;
export type SubmitEndpoint = (typeof submitEndpoints)[number];

export interface SubmitMetrics {
  jobsSubmitted: Counter<'endpoint'>;
  /** Counts `count` jobs accepted by `endpoint` (a batch upload counts each image). */
  recordSubmitted(endpoint: SubmitEndpoint, count?: number): void;
}

export function createSubmitMetrics(registry: Registry): SubmitMetrics {
  const jobsSubmitted = new Counter({
    name: 'maskq_jobs_submitted_total',
    help: 'Detection jobs enqueued by the API, by endpoint',
    labelNames: ['endpoint'],
    registers: [registry],
  });
  // Zero-initialise so rate() works from the first scrape.
  for (const endpoint of submitEndpoints) jobsSubmitted.inc({ endpoint }, 0);
  return {
    jobsSubmitted,
    recordSubmitted(endpoint, count = 1) {
      jobsSubmitted.inc({ endpoint }, count);
    },
  };
}

export interface ApiMetrics {
  http: HttpMetrics;
  submit: SubmitMetrics;
  queues: QueueMetrics;
}

/** Everything the API process exports, on one registry: HTTP, submissions, queue depth. */
export function createApiMetrics(registry: Registry, options: QueueMetricsOptions): ApiMetrics {
  return { http: createHttpMetrics(registry), submit: createSubmitMetrics(registry), queues: createQueueMetrics(registry, options) };
}
