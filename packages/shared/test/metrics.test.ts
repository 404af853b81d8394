import { describe, expect, it } from 'vitest';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import {
  createMetricsRegistry,
  createWebhookMetrics,
  createWorkerMetrics,
  recordBatch,
  recordWebhookAttempt,
  type BatchOutcome,
  type Registry,
} from '@maskq/shared';

async function metric(registry: Registry, name: string): Promise<MetricObjectWithValues<MetricValue<string>>> {
  const all = await registry.getMetricsAsJSON();
  const found = all.find((m) => m.name === name);
  if (!found) throw new Error(`metric ${name} not registered`);
  return found as MetricObjectWithValues<MetricValue<string>>;
}

/** Value of the series whose labels include `labels` (and, for histograms, the given metric name suffix). */
async function value(registry: Registry, name: string, labels: Record<string, string | number> = {}, series?: string): Promise<number | undefined> {
  const m = await metric(registry, name);
  const hit = m.values.find(
    (v) =>
      (series === undefined || (v as { metricName?: string }).metricName === series) &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === String(want)),
  );
  return hit?.value;
}

function registry(): Registry {
  return createMetricsRegistry({ service: 'test', defaultMetrics: false });
}

describe('createMetricsRegistry', () => {
  it('adds process metrics with the maskq_ prefix and a service label', async () => {
    const reg = createMetricsRegistry({ service: 'worker' });
    const text = await reg.metrics();
    expect(text).toMatch(/^maskq_process_cpu_user_seconds_total\{service="worker"\} /m);
    expect(text).toMatch(/^maskq_nodejs_eventloop_lag_seconds\{service="worker"\} /m);
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it('keeps registries apart: two workers in one process do not share counters', async () => {
    const a = registry();
    const b = registry();
    const ma = createWorkerMetrics(a, { executionProvider: 'cpu', modelVersion: '1.0.0' });
    createWorkerMetrics(b, { executionProvider: 'cpu', modelVersion: '1.0.0' });
    ma.jobsCompleted.inc(3);
    expect(await value(a, 'maskq_jobs_completed_total')).toBe(3);
    expect(await value(b, 'maskq_jobs_completed_total')).toBe(0);
  });
});

describe('recordBatch', () => {
  const t0 = 1_700_000_000_000;

  /** Batch i: i+1 jobs; job j waits 100 ms * (j+1), runs 50 ms; every third job fails. */
  function batch(i: number): BatchOutcome {
    return {
      preprocessSeconds: 0.004,
      inferenceSeconds: 0.02,
      jobs: Array.from({ length: i + 1 }, (_, j) => {
        const submittedAt = t0;
        const startedAt = t0 + 100 * (j + 1);
        const finishedAt = startedAt + 50;
        if (j % 3 === 2) return { submittedAt, startedAt, finishedAt, error: { code: j === 2 ? 'invalid_image' : 'inference_failed' } };
        return {
          submittedAt,
          startedAt,
          finishedAt,
          detections: [
            { label: 'mask' as const, score: 0.97 },
            { label: 'no_mask' as const, score: 0.72 },
            { label: 'mask' as const, score: 0.55 },
          ],
        };
      }),
    };
  }

  it('counts completed and failed jobs by code and fills every histogram with the right counts', async () => {
    const reg = registry();
    const m = createWorkerMetrics(reg, { executionProvider: 'cuda', modelVersion: '1.0.0' });
    const batches = Array.from({ length: 8 }, (_, i) => batch(i)); // sizes 1..8, 36 jobs
    for (const b of batches) recordBatch(m, b);

    const jobs = batches.flatMap((b) => b.jobs);
    const failed = jobs.filter((j) => j.error);
    const completed = jobs.filter((j) => !j.error);
    const byCode = (code: string) => failed.filter((j) => j.error?.code === code).length;
    expect(completed.length + failed.length).toBe(36);

    expect(await value(reg, 'maskq_jobs_completed_total')).toBe(completed.length);
    expect(await value(reg, 'maskq_jobs_failed_total', { code: 'invalid_image' })).toBe(byCode('invalid_image'));
    expect(await value(reg, 'maskq_jobs_failed_total', { code: 'inference_failed' })).toBe(byCode('inference_failed'));

    // one observation per batch
    expect(await value(reg, 'maskq_batch_size', {}, 'maskq_batch_size_count')).toBe(8);
    expect(await value(reg, 'maskq_batch_size', {}, 'maskq_batch_size_sum')).toBe(36);
    expect(await value(reg, 'maskq_batch_size', { le: 4 }, 'maskq_batch_size_bucket')).toBe(4); // sizes 1,2,3,4
    expect(await value(reg, 'maskq_inference_duration_seconds', {}, 'maskq_inference_duration_seconds_count')).toBe(8);
    expect(await value(reg, 'maskq_preprocess_duration_seconds', {}, 'maskq_preprocess_duration_seconds_count')).toBe(8);

    // per job: wait for all, latency for completed only
    expect(await value(reg, 'maskq_job_queue_wait_seconds', {}, 'maskq_job_queue_wait_seconds_count')).toBe(36);
    expect(await value(reg, 'maskq_job_latency_seconds', {}, 'maskq_job_latency_seconds_count')).toBe(completed.length);
    const latencySum = completed.reduce((s, j) => s + (j.finishedAt - j.submittedAt) / 1000, 0);
    expect(await value(reg, 'maskq_job_latency_seconds', {}, 'maskq_job_latency_seconds_sum')).toBeCloseTo(latencySum, 9);
    // job 0 of each batch: 150 ms end to end, inside the 0.25 s bucket, outside 0.1 s
    expect(await value(reg, 'maskq_job_latency_seconds', { le: 0.1 }, 'maskq_job_latency_seconds_bucket')).toBe(0);

    // detections
    expect(await value(reg, 'maskq_faces_detected_total', { label: 'mask' })).toBe(completed.length * 2);
    expect(await value(reg, 'maskq_faces_detected_total', { label: 'no_mask' })).toBe(completed.length);
    expect(await value(reg, 'maskq_detection_confidence', { label: 'mask' }, 'maskq_detection_confidence_count')).toBe(completed.length * 2);
    expect(await value(reg, 'maskq_detection_confidence', { label: 'mask', le: 0.6 }, 'maskq_detection_confidence_bucket')).toBe(completed.length);

    expect(await value(reg, 'maskq_worker_info', { execution_provider: 'cuda', model_version: '1.0.0' })).toBe(1);
  });

  it('counts retried attempts apart from final failures and maps unknown codes to internal_error', async () => {
    const reg = registry();
    const m = createWorkerMetrics(reg, { executionProvider: 'cpu', modelVersion: '1.0.0' });
    recordBatch(m, {
      jobs: [
        { submittedAt: t0, startedAt: t0, finishedAt: t0, error: { code: 'inference_failed', willRetry: true } },
        { submittedAt: t0, startedAt: t0, finishedAt: t0, error: { code: 'something_new' } },
      ],
    });
    expect(await value(reg, 'maskq_jobs_retried_total', { code: 'inference_failed' })).toBe(1);
    expect(await value(reg, 'maskq_jobs_failed_total', { code: 'inference_failed' })).toBeUndefined();
    expect(await value(reg, 'maskq_jobs_failed_total', { code: 'internal_error' })).toBe(1);
    expect(await value(reg, 'maskq_jobs_failed_total', { code: 'something_new' })).toBeUndefined();
    // a batch that failed before preprocessing records no stage durations
    expect(await value(reg, 'maskq_preprocess_duration_seconds', {}, 'maskq_preprocess_duration_seconds_count')).toBe(0);
  });
});

describe('webhook metrics', () => {
  it('counts attempts by outcome and times them', async () => {
    const reg = registry();
    const m = createWebhookMetrics(reg);
    const outcomes = ['delivered', 'delivered', 'retry', 'retry', 'retry', 'failed', 'gone'] as const;
    for (const outcome of outcomes) recordWebhookAttempt(m, { outcome, durationSeconds: 0.2 });
    expect(await value(reg, 'maskq_webhook_deliveries_total', { outcome: 'delivered' })).toBe(2);
    expect(await value(reg, 'maskq_webhook_deliveries_total', { outcome: 'retry' })).toBe(3);
    expect(await value(reg, 'maskq_webhook_deliveries_total', { outcome: 'failed' })).toBe(1);
    expect(await value(reg, 'maskq_webhook_deliveries_total', { outcome: 'gone' })).toBe(1);
    expect(await value(reg, 'maskq_webhook_attempt_duration_seconds', { outcome: 'retry' }, 'maskq_webhook_attempt_duration_seconds_count')).toBe(3);
  });
});
