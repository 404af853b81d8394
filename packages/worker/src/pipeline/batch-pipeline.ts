import type { BlobStore, DetectJob, DetectJobReturn, Logger } from '@maskq/shared';
import type { LockKeeper } from '../batch/lock-keeper.js';
import { jobFailure, toJobFailure, type JobFailure } from '../errors/job-failure.js';
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
  preprocessMs: number;
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
      await this.finishFailed(jobs.map((job) => ({ job, failure: jobFailure('unavailable', 'image storage unavailable', true) })), token);
      return emptyBatch(token, startedAt, jobs.length);
    }
    const fetchMs = performance.now() - t0;

    let slots: Slot[] = [];
    let tensor: Float32Array | undefined;
    let preprocessMs = 0;
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
    await this.finishFailed(rejected, token);
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
    try {
      await this.inferAndPublish(batch);
    } finally {
      this.abandon(batch.slots.map((slot) => slot.job)); // no-op for jobs already published
    }
  }

  private async inferAndPublish(batch: PreparedBatch): Promise<void> {
    const { inference, postprocessor, publisher, tensorPool, logger } = this.deps;
    if (!batch.tensor || batch.slots.length === 0) return;
    const jobs = batch.slots.map((slot) => slot.job);

    let output: Awaited<ReturnType<BatchInference['run']>>;
    try {
      output = await inference.run(batch.tensor, batch.rows);
    } catch (err) {
      tensorPool.release(batch.tensor);
      logger.error({ err, size: batch.rows }, 'inference failed; the batch will be retried');
      await this.finishFailed(jobs.map((job) => ({ job, failure: toJobFailure(err, 'inference_failed', 'inference failed') })), batch.token);
      return;
    }
    tensorPool.release(output.input);

    const t0 = performance.now();
    const finishedAt = Date.now();
    const done: DetectJob[] = [];
    const failed: Array<{ job: DetectJob; failure: JobFailure }> = [];
    const completions = batch.slots.map(async (slot) => {
      let value: DetectJobReturn;
      try {
        const result = postprocessor.decode(output, slot.index, slot.size);
        value = {
          result,
          model: inference.model,
          startedAt: batch.startedAt,
          finishedAt,
          inferenceMs: round2(output.inferenceMs),
          batchSize: batch.rows,
        };
      } catch (err) {
        logger.error({ err, jobId: slot.job.id }, 'postprocessing failed');
        failed.push({ job: slot.job, failure: toJobFailure(err, 'internal_error', 'postprocessing failed') });
        return;
      }
      if (await publisher.complete(slot.job, value, batch.token)) done.push(slot.job);
    });
    await Promise.all(completions);
    this.deps.lockKeeper.release(ids(done));
    await publisher.deleteBlobs(done);
    await this.finishFailed(failed, batch.token);
    const publishMs = performance.now() - t0;

    logger.info(
      {
        batchSize: batch.rows,
        collected: batch.collected,
        completed: done.length,
        failed: batch.rejected + failed.length,
        fetchMs: round2(batch.fetchMs),
        preprocessMs: round2(batch.preprocessMs),
        inferenceMs: round2(output.inferenceMs),
        publishMs: round2(publishMs),
      },
      'batch done',
    );
  }

  private async finishFailed(rejected: Array<{ job: DetectJob; failure: JobFailure }>, token: string): Promise<void> {
    if (rejected.length === 0) return;
    const { publisher, lockKeeper, logger } = this.deps;
    const outcomes = await Promise.all(rejected.map(({ job, failure }) => publisher.fail(job, failure, token)));
    lockKeeper.release(ids(rejected.map(({ job }) => job)));
    const finished = rejected.filter((_, i) => outcomes[i] === 'failed').map(({ job }) => job);
    await publisher.deleteBlobs(finished);
    for (const [i, { job, failure }] of rejected.entries()) {
      logger.info({ jobId: job.id, code: failure.code, outcome: outcomes[i] }, 'job failed');
    }
  }
}

function emptyBatch(token: string, startedAt: number, collected: number): PreparedBatch {
  return { token, slots: [], tensor: undefined, rows: 0, startedAt, collected, rejected: collected, fetchMs: 0, preprocessMs: 0 };
}

const ids = (jobs: DetectJob[]): string[] => jobs.map((job) => job.id!);
const round2 = (ms: number): number => Math.round(ms * 100) / 100;
