import type { Queue } from 'bullmq';
import type { Logger } from '@maskq/shared';

export interface ResultCleanerOptions {
  /** RESULT_TTL_SECONDS: completed jobs (with their results) older than this are removed. */
  resultTtlSeconds: number;
  /** FAILED_TTL_SECONDS: the same for failed jobs. */
  failedTtlSeconds: number;
  /** How often to look; default half the shorter TTL, between 1 s and 60 s. */
  everyMs?: number;
  /** Jobs removed per state and tick, so one call never blocks Redis for long. */
  limit?: number;
}

/**
 * BullMQ applies `removeOnComplete: { age }` only when a later job finishes, so
 * once traffic stops the last results would stay in Redis for good. This removes
 * finished jobs past their TTL on a timer (`queue.clean`). Every worker runs one:
 * the calls are idempotent and cheap (one bounded script per state).
 */
export class ResultCleaner {
  private timer: NodeJS.Timeout | undefined;
  private cleaning: Promise<void> | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly options: ResultCleanerOptions,
    private readonly logger: Logger,
  ) {}

  get everyMs(): number {
    const shorter = Math.min(this.options.resultTtlSeconds, this.options.failedTtlSeconds) * 1000;
    return this.options.everyMs ?? Math.min(60_000, Math.max(1000, Math.floor(shorter / 2)));
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.cleaning) this.cleaning = this.clean().finally(() => (this.cleaning = undefined));
    }, this.everyMs);
    this.timer.unref();
  }

  async clean(): Promise<void> {
    const limit = this.options.limit ?? 1000;
    try {
      const completed = await this.queue.clean(this.options.resultTtlSeconds * 1000, limit, 'completed');
      const failed = await this.queue.clean(this.options.failedTtlSeconds * 1000, limit, 'failed');
      if (completed.length + failed.length > 0) this.logger.debug({ completed: completed.length, failed: failed.length }, 'expired job records removed');
    } catch (err) {
      // Redis away: the next tick tries again.
      this.logger.warn({ err: { message: (err as Error).message } }, 'removing expired job records failed');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.cleaning;
  }
}
