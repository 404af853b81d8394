import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { DetectJob } from '@maskq/shared';

export interface BatchCollectorOptions {
  /** Most jobs in one batch (BATCH_MAX_SIZE). */
  maxSize: number;
  /** How long to keep filling a batch after its first job arrived (BATCH_MAX_WAIT_MS). */
  maxWaitMs: number;
}

/**
 * Builds batches from BullMQ's manual fetching API (open-source BullMQ has no
 * batch API): block for the first job, then take waiting jobs without blocking
 * until the batch is full or `maxWaitMs` has passed since the first one.
 */
export class BatchCollector {
  private stopping = false;

  constructor(
    private readonly worker: Worker,
    private readonly options: BatchCollectorOptions,
  ) {}

  /** After stop(), collect() returns within the worker's drainDelay and takes no more jobs than it already holds. */
  stop(): void {
    this.stopping = true;
  }

  get stopped(): boolean {
    return this.stopping;
  }

  /**
   * The jobs of the next batch, all locked under `token`; empty only when
   * stopping. Every job returned is active and must be completed or failed.
   */
  async collect(token: string): Promise<DetectJob[]> {
    const batch: DetectJob[] = [];
    // getNextJob({ block: true }) waits on BullMQ's marker for at most drainDelay
    // and may come back empty (timeout, or another worker won the job).
    while (!this.stopping) {
      const first = (await this.worker.getNextJob(token, { block: true })) as DetectJob | undefined;
      if (first) {
        batch.push(first);
        break;
      }
    }
    if (batch.length === 0) return batch;

    const fillUntil = performance.now() + this.options.maxWaitMs;
    while (batch.length < this.options.maxSize && !this.stopping) {
      let next: DetectJob | undefined;
      try {
        next = (await this.worker.getNextJob(token, { block: false })) as DetectJob | undefined;
      } catch {
        break; // keep the jobs already taken; the loop surfaces persistent errors on the next collect
      }
      if (next) {
        batch.push(next);
        continue;
      }
      const left = fillUntil - performance.now();
      if (left <= 0) break;
      // The wait list is empty right now: poll again shortly instead of spinning on Redis.
      await sleep(Math.min(1, left));
    }
    return batch;
  }
}
