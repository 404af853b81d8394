import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { errorCodes, type ErrorCode } from '../errors/codes.js';
import { labels, type Label } from '../schemas/result.js';
import { batchSizeBuckets, confidenceBuckets, jobLatencyBuckets, stageDurationBuckets } from './buckets.js';

export interface WorkerMetricsOptions {
  executionProvider: string;
  modelVersion: string;
}

export interface WorkerMetrics {
  jobsCompleted: Counter;
  jobsFailed: Counter<'code'>;
  jobsRetried: Counter<'code'>;
  jobLatency: Histogram;
  queueWait: Histogram;
  batchSize: Histogram;
  preprocessDuration: Histogram;
  inferenceDuration: Histogram;
  facesDetected: Counter<'label'>;
  detectionConfidence: Histogram<'label'>;
  workerInfo: Gauge<'execution_provider' | 'model_version'>;
}

/**
 * Worker metrics. Confidence is `maskq_detection_confidence` (the seed
 * article's `mask_detection_confidence` under our one prefix, no alias: an
 * alias would double the series for no new information).
 */
export function createWorkerMetrics(registry: Registry, { executionProvider, modelVersion }: WorkerMetricsOptions): WorkerMetrics {
  const registers = [registry];
  const metrics: WorkerMetrics = {
    jobsCompleted: new Counter({
      name: 'maskq_jobs_completed_total',
      help: 'Detection jobs completed with a result',
      registers,
    }),
    jobsFailed: new Counter({
      name: 'maskq_jobs_failed_total',
      help: 'Detection jobs failed for good (no attempts left or not retryable), by error code',
      labelNames: ['code'],
      registers,
    }),
    jobsRetried: new Counter({
      name: 'maskq_jobs_retried_total',
      help: 'Detection job attempts that failed and will be retried, by error code',
      labelNames: ['code'],
      registers,
    }),
    jobLatency: new Histogram({
      name: 'maskq_job_latency_seconds',
      help: 'End-to-end latency of completed jobs: submitted by the API to result stored',
      buckets: jobLatencyBuckets,
      registers,
    }),
    queueWait: new Histogram({
      name: 'maskq_job_queue_wait_seconds',
      help: 'Time jobs waited in the queue: submitted to picked up by a worker',
      buckets: jobLatencyBuckets,
      registers,
    }),
    batchSize: new Histogram({
      name: 'maskq_batch_size',
      help: 'Jobs per inference batch',
      buckets: batchSizeBuckets,
      registers,
    }),
    preprocessDuration: new Histogram({
      name: 'maskq_preprocess_duration_seconds',
      help: 'Decode and preprocess time of one batch',
      buckets: stageDurationBuckets,
      registers,
    }),
    inferenceDuration: new Histogram({
      name: 'maskq_inference_duration_seconds',
      help: 'ONNX Runtime run time of one batch',
      buckets: stageDurationBuckets,
      registers,
    }),
    facesDetected: new Counter({
      name: 'maskq_faces_detected_total',
      help: 'Faces detected, by label',
      labelNames: ['label'],
      registers,
    }),
    detectionConfidence: new Histogram({
      name: 'maskq_detection_confidence',
      help: 'Confidence of each detection, by label',
      labelNames: ['label'],
      buckets: confidenceBuckets,
      registers,
    }),
    workerInfo: new Gauge({
      name: 'maskq_worker_info',
      help: 'Always 1; labels say how this worker runs (count CPU vs GPU workers with sum by (execution_provider))',
      labelNames: ['execution_provider', 'model_version'],
      registers,
    }),
  };
  metrics.workerInfo.set({ execution_provider: executionProvider, model_version: modelVersion }, 1);
  metrics.jobsCompleted.inc(0);
  for (const label of labels) metrics.facesDetected.inc({ label }, 0);
  return metrics;
}

/** One job of a batch as the worker saw it. Times are epoch milliseconds. */
export interface JobOutcome {
  /** DetectJobData.submittedAt */
  submittedAt: number;
  /** When this worker took the job from the queue. */
  startedAt: number;
  /** When the result (or failure) was stored. */
  finishedAt: number;
  /** Present when the job failed. */
  error?: { code: ErrorCode | string; willRetry?: boolean };
  /** Detections of a completed job. */
  detections?: ReadonlyArray<{ label: Label; score: number }>;
}

/** What one batch did; the worker builds it once per batch and calls `recordBatch`. */
export interface BatchOutcome {
  jobs: readonly JobOutcome[];
  /** Decode + preprocess time of the whole batch, seconds. Omit if the batch never got there. */
  preprocessSeconds?: number;
  /** Inference time of the whole batch, seconds. */
  inferenceSeconds?: number;
}

const knownCodes = new Set<string>(errorCodes);

/** Error codes come from a closed list; anything else is counted as internal_error. */
export function errorCodeLabel(code: string): ErrorCode {
  return (knownCodes.has(code) ? code : 'internal_error') as ErrorCode;
}

/** Records one batch: per-batch histograms once, per-job counters and latencies for each job. */
export function recordBatch(metrics: WorkerMetrics, batch: BatchOutcome): void {
  if (batch.jobs.length > 0) metrics.batchSize.observe(batch.jobs.length);
  if (batch.preprocessSeconds !== undefined) metrics.preprocessDuration.observe(batch.preprocessSeconds);
  if (batch.inferenceSeconds !== undefined) metrics.inferenceDuration.observe(batch.inferenceSeconds);
  for (const job of batch.jobs) {
    metrics.queueWait.observe(Math.max(0, job.startedAt - job.submittedAt) / 1000);
    if (job.error) {
      const code = errorCodeLabel(job.error.code);
      if (job.error.willRetry) metrics.jobsRetried.inc({ code });
      else metrics.jobsFailed.inc({ code });
      continue;
    }
    metrics.jobsCompleted.inc();
    metrics.jobLatency.observe(Math.max(0, job.finishedAt - job.submittedAt) / 1000);
    for (const detection of job.detections ?? []) {
      metrics.facesDetected.inc({ label: detection.label });
      metrics.detectionConfidence.observe({ label: detection.label }, detection.score);
    }
  }
}
