import { UnrecoverableError } from 'bullmq';
import { formatFailedReason, type BlobStore, type DetectJob, type DetectJobReturn, type Logger } from '@maskq/shared';
import type { JobFailure } from '../errors/job-failure.js';

export type FailOutcome = 'failed' | 'retrying' | 'lost';

/**
 * Last step of a batch: move each job to its final state under the batch's
 * token, then delete the image blobs of jobs that are finished for good in one
 * pipeline. A blob stays while its job will be retried, and when our lock was
 * lost (another worker owns the job now and still needs the bytes).
 */
export class JobPublisher {
  constructor(
    private readonly blobStore: BlobStore,
    private readonly logger: Logger,
  ) {}

  /** `fetchNext = false`: with manual fetching BullMQ would otherwise lock a job nobody processes. */
  async complete(job: DetectJob, value: DetectJobReturn, token: string): Promise<boolean> {
    try {
      await job.moveToCompleted(value, token, false);
      return true;
    } catch (err) {
      this.logger.warn({ err, jobId: job.id }, 'could not complete job (lock lost?)');
      return false;
    }
  }

  /**
   * Whether BullMQ will retry the job after this failure: the same rule as its
   * Job.shouldRetryJob, so we know before moving it whether the blob is still
   * needed and whether the failure is final (webhook, metrics).
   */
  willRetry(job: DetectJob, failure: JobFailure): boolean {
    return failure.retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
  }

  async fail(job: DetectJob, failure: JobFailure, token: string): Promise<FailOutcome> {
    const reason = formatFailedReason(failure.code, failure.message);
    const willRetry = this.willRetry(job, failure);
    const err = failure.retryable ? new Error(reason) : new UnrecoverableError(reason);
    try {
      await job.moveToFailed(err, token, false);
      return willRetry ? 'retrying' : 'failed';
    } catch (moveErr) {
      this.logger.warn({ err: moveErr, jobId: job.id }, 'could not fail job (lock lost?)');
      return 'lost';
    }
  }

  async deleteBlobs(jobs: DetectJob[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await this.blobStore.delete(jobs.map((job) => job.data.blobKey));
    } catch (err) {
      // The blobs carry a TTL, so a failed delete only costs memory for a while.
      this.logger.warn({ err, count: jobs.length }, 'could not delete image blobs');
    }
  }
}
