import type { Logger } from '@maskq/shared';
import type { BatchPipeline } from '../pipeline/batch-pipeline.js';
import type { BatchCollector } from './batch-collector.js';

/**
 * The worker's main loop. At most one batch infers while the next one is
 * collected, fetched and preprocessed:
 *
 *   collect(n+1) → prepare(n+1) → wait for run(n) → start run(n+1) → collect(n+2) …
 *
 * Inference runs on its own thread, so the event loop stays free for Redis
 * (lock renewals, completions, the next batch's blobs) while a batch infers.
 */
export class BatchRunner {
  private loopDone: Promise<void> | undefined;
  private batchSeq = 0;

  constructor(
    private readonly collector: BatchCollector,
    private readonly pipeline: BatchPipeline,
    private readonly tokenPrefix: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Stops taking jobs; resolves when every batch already taken is published. */
  async stop(): Promise<void> {
    this.collector.stop();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    let inFlight: Promise<void> = Promise.resolve();
    while (!this.collector.stopped) {
      try {
        const token = `${this.tokenPrefix}:${++this.batchSeq}`;
        const jobs = await this.collector.collect(token);
        if (jobs.length === 0) continue;
        const prepared = await this.pipeline.prepare(jobs, token).catch((err: unknown) => {
          this.pipeline.abandon(jobs);
          throw err;
        });
        await inFlight;
        inFlight = this.pipeline.run(prepared).catch((err: unknown) => {
          this.logger.error({ err }, 'batch failed unexpectedly');
        });
      } catch (err) {
        // Redis down or similar: back off briefly; held jobs are recovered by the stalled checker.
        this.logger.error({ err }, 'batch loop error');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    await inFlight;
  }
}
