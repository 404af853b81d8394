import {
  enqueueWebhooks,
  recordBatch,
  webhookEntriesFor,
  type BlobStore,
  type DetectJob,
  type DetectJobReturn,
  type JobOutcome,
  type Logger,
  type WebhookEvent,
  type WebhookQueue,
  type WorkerMetrics,
} from '@maskq/shared';
import type { LockKeeper } from '../batch/lock-keeper.js';
import { jobFailure, toJobFailure, type JobFailure } from '../errors/job-failure.js';
import type { AnnotatedImages } from '../publish/annotated-images.js';
import type { JobPublisher } from '../publish/job-publisher.js';
import type { BatchInference, Postprocessor, Preprocessor } from './detector-port.js';
import { fetchBlobs } from './fetch-blobs.js';
import { preprocessBatch, type Slot } from './preprocess-batch.js';
import type { TensorPool } from './tensor-pool.js';

/** A batch whose images sit in a tensor, ready for one inference call. */
export interface PreparedBatch {
  token: string;
  /** Jobs still held (locked) by this batch: exactly those in `slots`. */
  slots: Slot[];
  tensor: Float32Array | undefined;
  /** Rows of the tensor to infer (slots of bad images included, their outputs ignored). */
  rows: number;
  startedAt: number;
  collected: number;
  rejected: number;
  fetchMs: number;
  /** Undefined when no image reached preprocessing. */
  preprocessMs: number | undefined;
  /** Jobs already finished by prepare (expired, missing blob, bad image), for the batch's metrics. */
  outcomes: JobOutcome[];
}

export interface BatchPipelineDeps {
  blobStore: BlobStore;
  preprocessor: Preprocessor;
  inference: BatchInference;
  postprocessor: Postprocessor;
  publisher: JobPublisher;
  lockKeeper: LockKeeper;
  tensorPool: TensorPool;
  logger: Logger;
  /** Per-batch metrics (recordBatch); none in tests that do not look at them. */
  metrics?: WorkerMetrics;
  /** Where webhooks of finished jobs are enqueued; without it none are (no callbacks possible). */
  webhookQueue?: WebhookQueue;
  /** Renders `annotate: true` jobs; without it they complete without an image. */
  annotatedImages?: AnnotatedImages;
}

/**
 * fetch → preprocess (prepare) and infer → postprocess → publish (run) for one
 * batch. The two halves are separate so the batch loop can prepare the next
 * batch while this one infers.
 */
export class BatchPipeline {
  constructor(private readonly deps: BatchPipelineDeps) {}

  /** Jobs failed here (expired, missing blob, bad image) are published at once; they never wait for inference. */
  async prepare(jobs: DetectJob[], token: string): Promise<PreparedBatch> {
    const { blobStore, preprocessor, tensorPool, lockKeeper, logger } = this.deps;
    const startedAt = Date.now();
    lockKeeper.hold(ids(jobs), token);

    const t0 = performance.now();
    let fetched: Awaited<ReturnType<typeof fetchBlobs>>;
    try {
      fetched = await fetchBlobs(jobs, blobStore, startedAt);
    } catch (err) {
      logger.warn({ err, size: jobs.length }, 'reading image blobs failed; the batch will be retried');
      const outcomes = await this.finishFailed(jobs.map((job) => ({ job, failure: jobFailure('unavailable', 'image storage unavailable', true) })), token, startedAt);
      return emptyBatch(token, startedAt, jobs.length, outcomes);
    }
    const fetchMs = performance.now() - t0;

    let slots: Slot[] = [];
    let tensor: Float32Array | undefined;
    let preprocessMs: number | undefined;
    let rejected = fetched.rejected;
    if (fetched.images.length > 0) {
      tensor = await tensorPool.acquire();
      const t1 = performance.now();
      const pre = await preprocessBatch(fetched.images, preprocessor, tensor);
      preprocessMs = performance.now() - t1;
      slots = pre.slots;
      for (const bad of pre.rejected) {
        if (bad.failure.retryable) logger.warn({ err: bad.error, jobId: bad.job.id }, 'preprocessing failed unexpectedly');
      }
      rejected = rejected.concat(pre.rejected);
      if (slots.length === 0) {
        tensorPool.release(tensor);
        tensor = undefined;
      }
    }
    const outcomes = await this.finishFailed(rejected, token, startedAt);
    return {
      token,
      slots,
      tensor,
      rows: fetched.images.length,
      startedAt,
      collected: jobs.length,
      rejected: rejected.length,
      fetchMs,
      preprocessMs,
      outcomes,
    };
  }

  /**
   * Stops renewing the locks of jobs a failed step left behind, so the stalled
   * checker gives them to a worker that can process them instead of them
   * staying locked forever.
   */
  abandon(jobs: DetectJob[]): void {
    this.deps.lockKeeper.release(ids(jobs));
  }

  /** ONE inference call for the batch, then each job completes with its own result. */
  async run(batch: PreparedBatch): Promise<void> {
    const outcomes = [...batch.outcomes];
    let timings: { inferenceMs?: number; publishMs?: number } = {};
    try {
      timings = await this.inferAndPublish(batch, outcomes);
    } finally {
      this.abandon(batch.slots.map((slot) => slot.job)); // no-op for jobs already published
      this.report(batch, outcomes, timings);
    }
  }

  /** One metrics record and one log line per batch, whatever became of its jobs. */
  private report(batch: PreparedBatch, outcomes: JobOutcome[], timings: { inferenceMs?: number; publishMs?: number }): void {
    const { metrics, logger } = this.deps;
    if (metrics) {
      recordBatch(metrics, {
        jobs: outcomes,
        ...(batch.preprocessMs === undefined ? {} : { preprocessSeconds: batch.preprocessMs / 1000 }),
        ...(timings.inferenceMs === undefined ? {} : { inferenceSeconds: timings.inferenceMs / 1000 }),
      });
    }
    const failed = outcomes.filter((o) => o.error).length;
    logger.info(
      {
        batchSize: batch.rows,
        collected: batch.collected,
        completed: outcomes.length - failed,
        failed,
        fetchMs: round2(batch.fetchMs),
        ...(batch.preprocessMs === undefined ? {} : { preprocessMs: round2(batch.preprocessMs) }),
        ...(timings.inferenceMs === undefined ? {} : { inferenceMs: round2(timings.inferenceMs) }),
        ...(timings.publishMs === undefined ? {} : { publishMs: round2(timings.publishMs) }),
      },
      'batch done',
    );
  }

  private async inferAndPublish(batch: PreparedBatch, outcomes: JobOutcome[]): Promise<{ inferenceMs?: number; publishMs?: number }> {
    const { inference, postprocessor, publisher, tensorPool, logger } = this.deps;
    if (!batch.tensor || batch.slots.length === 0) return {};
    const jobs = batch.slots.map((slot) => slot.job);

    let output: Awaited<ReturnType<BatchInference['run']>>;
    try {
      output = await inference.run(batch.tensor, batch.rows);
    } catch (err) {
      tensorPool.release(batch.tensor);
      logger.error({ err, size: batch.rows }, 'inference failed; the batch will be retried');
      outcomes.push(...(await this.finishFailed(jobs.map((job) => ({ job, failure: toJobFailure(err, 'inference_failed', 'inference failed') })), batch.token, batch.startedAt)));
      return {};
    }
    tensorPool.release(output.input);

    const t0 = performance.now();
    const finishedAt = Date.now();
    const decoded: Array<{ slot: Slot; value: DetectJobReturn }> = [];
    const failed: Array<{ job: DetectJob; failure: JobFailure }> = [];
    for (const slot of batch.slots) {
      try {
        const result = postprocessor.decode(output, slot.index, slot.size);
        decoded.push({
          slot,
          value: {
            result,
            model: inference.model,
            startedAt: batch.startedAt,
            finishedAt,
            inferenceMs: round2(output.inferenceMs),
            batchSize: batch.rows,
          },
        });
      } catch (err) {
        logger.error({ err, jobId: slot.job.id, requestId: slot.job.data.requestId }, 'postprocessing failed');
        failed.push({ job: slot.job, failure: toJobFailure(err, 'internal_error', 'postprocessing failed') });
      }
    }

    // Annotated images of the jobs that asked, in parallel (sharp works off the JS thread): the
    // result must point at its image, so they are stored before the jobs complete.
    const { annotatedImages } = this.deps;
    if (annotatedImages) {
      await Promise.all(
        decoded.map(async (entry) => {
          const bytes = entry.slot.bytes;
          if (!bytes) return;
          entry.slot.bytes = undefined;
          const key = await annotatedImages.renderAndStore(entry.slot.job, bytes, entry.value.result.detections);
          if (key) entry.value.annotatedKey = key;
        }),
      );
    }

    // Webhooks before completion: the dispatcher waits until the detect job is final, so a crash
    // between the two cannot lose a webhook. If they cannot be enqueued, those jobs are left to
    // the stalled checker (retried) instead of completing without their webhook.
    const webhookJobs = await this.enqueueWebhooks(decoded.map(({ slot }) => slot.job), () => 'completed');
    const publishable = decoded.filter(({ slot }) => !webhookJobs.unsent.has(slot.job));

    const done: DetectJob[] = [];
    await Promise.all(
      publishable.map(async ({ slot, value }) => {
        if (await publisher.complete(slot.job, value, batch.token)) {
          done.push(slot.job);
          outcomes.push({
            submittedAt: slot.job.data.submittedAt,
            startedAt: takenAt(slot.job, batch.startedAt),
            finishedAt,
            detections: value.result.detections,
          });
        }
      }),
    );
    this.deps.lockKeeper.release(ids(done));
    await publisher.deleteBlobs(done);
    outcomes.push(...(await this.finishFailed(failed, batch.token, batch.startedAt)));
    return { inferenceMs: output.inferenceMs, publishMs: performance.now() - t0 };
  }

  /**
   * Enqueues the webhooks of jobs about to end in `event` (those that asked for it), in one
   * addBulk. Returns the jobs whose webhook could not be enqueued (and releases their locks).
   */
  private async enqueueWebhooks(jobs: DetectJob[], eventOf: (job: DetectJob) => WebhookEvent | undefined): Promise<{ unsent: Set<DetectJob> }> {
    const { webhookQueue, lockKeeper, logger } = this.deps;
    const unsent = new Set<DetectJob>();
    if (!webhookQueue) return { unsent };
    const wanted = jobs.flatMap((job) => {
      const event = eventOf(job);
      const entries = event ? webhookEntriesFor(job, event) : [];
      return entries.length > 0 ? [{ job, entries }] : [];
    });
    if (wanted.length === 0) return { unsent };
    try {
      await enqueueWebhooks(webhookQueue, wanted.flatMap((w) => w.entries));
    } catch (err) {
      logger.error({ err, jobIds: wanted.map((w) => w.job.id) }, 'could not enqueue webhooks; those jobs are left to be retried');
      for (const { job } of wanted) unsent.add(job);
      lockKeeper.release(ids([...unsent]));
    }
    return { unsent };
  }

  private async finishFailed(rejected: Array<{ job: DetectJob; failure: JobFailure }>, token: string, startedAt: number): Promise<JobOutcome[]> {
    if (rejected.length === 0) return [];
    const { publisher, lockKeeper, logger } = this.deps;
    // Only failures BullMQ will not retry are final and send the `failed` webhook.
    const finalFailure = new Map(rejected.map(({ job, failure }) => [job, !publisher.willRetry(job, failure)]));
    const { unsent } = await this.enqueueWebhooks(
      rejected.map(({ job }) => job),
      (job) => (finalFailure.get(job) ? 'failed' : undefined),
    );
    const toFail = rejected.filter(({ job }) => !unsent.has(job));
    const outcomes = await Promise.all(toFail.map(({ job, failure }) => publisher.fail(job, failure, token)));
    const finishedAt = Date.now();
    lockKeeper.release(ids(toFail.map(({ job }) => job)));
    const finished = toFail.filter((_, i) => outcomes[i] === 'failed').map(({ job }) => job);
    await publisher.deleteBlobs(finished);
    const recorded: JobOutcome[] = [];
    for (const [i, { job, failure }] of toFail.entries()) {
      const outcome = outcomes[i]!;
      logger.info({ jobId: job.id, requestId: job.data.requestId, code: failure.code, outcome }, 'job failed');
      // A job whose lock was lost is another worker's now: it counts there.
      if (outcome === 'lost') continue;
      recorded.push({
        submittedAt: job.data.submittedAt,
        startedAt: takenAt(job, startedAt),
        finishedAt,
        error: { code: failure.code, willRetry: outcome === 'retrying' },
      });
    }
    return recorded;
  }
}

function emptyBatch(token: string, startedAt: number, collected: number, outcomes: JobOutcome[]): PreparedBatch {
  return { token, slots: [], tensor: undefined, rows: 0, startedAt, collected, rejected: collected, fetchMs: 0, preprocessMs: undefined, outcomes };
}

const ids = (jobs: DetectJob[]): string[] => jobs.map((job) => job.id!);
const round2 = (ms: number): number => Math.round(ms * 100) / 100;

/** When this worker took the job (BullMQ sets processedOn when it moves the job to active). */
const takenAt = (job: DetectJob, fallback: number): number => job.processedOn ?? fallback;
