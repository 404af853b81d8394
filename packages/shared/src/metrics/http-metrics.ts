import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { httpDurationBuckets } from './buckets.js';

export type HttpLabel = 'method' | 'route' | 'status';

export interface HttpMetrics {
  requests: Counter<HttpLabel>;
  duration: Histogram<HttpLabel>;
  inFlight: Gauge<'method'>;
}

/** HTTP server metrics. `route` is always a route template or `unmatched`, never a raw URL. */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: new Counter({
      name: 'maskq_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'maskq_http_request_duration_seconds',
      help: 'Time from request start to the last byte of the response',
      labelNames: ['method', 'route', 'status'],
      buckets: httpDurationBuckets,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'maskq_http_requests_in_flight',
      help: 'HTTP requests being handled right now',
      labelNames: ['method'],
      registers: [registry],
    }),
  };
}

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Clients can send any method token; only the standard ones become label values. */
export function methodLabel(method: string | undefined): string {
  const upper = (method ?? '').toUpperCase();
  return knownMethods.has(upper) ? upper : 'OTHER';
}

/** Status codes outside 100..599 (never sent by Node) collapse to one value. */
export function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}
