import { Counter, Histogram, type Registry } from 'prom-client';
import { webhookDurationBuckets } from './buckets.js';

/**
 * delivered: 2xx. retry: failed, another attempt is scheduled. failed: no
 * attempts left. gone: receiver answered 410, we stop for good.
 */
export const webhookOutcomes = ['delivered', 'retry', 'failed', 'gone'] as const;
export type WebhookOutcome = (typeof webhookOutcomes)[number];

export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  attemptDuration: Histogram<'outcome'>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const deliveries = new Counter({
    name: 'maskq_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retry, failed, gone)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of webhookOutcomes) deliveries.inc({ outcome }, 0);
  const attemptDuration = new Histogram({
    name: 'maskq_webhook_attempt_duration_seconds',
    help: 'Duration of one webhook POST, by outcome',
    labelNames: ['outcome'],
    buckets: webhookDurationBuckets,
    registers: [registry],
  });
  return { deliveries, attemptDuration };
}

/** Records one delivery attempt. */
export function recordWebhookAttempt(metrics: WebhookMetrics, attempt: { outcome: WebhookOutcome; durationSeconds: number }): void {
  metrics.deliveries.inc({ outcome: attempt.outcome });
  metrics.attemptDuration.observe({ outcome: attempt.outcome }, attempt.durationSeconds);
}
