import type { Worker } from 'bullmq';
import type { Logger } from '@maskq/shared';

export interface LockKeeperOptions {
  lockDurationMs: number;
  /** How often to extend; BullMQ's own lock manager uses half the lock duration. */
  renewEveryMs?: number;
}

/**
 * BullMQ renews locks only for jobs its own run loop processes; manually
 * fetched jobs are ours to renew. Every held job is extended in ONE round trip
 * per tick (worker.extendJobLocks), so a long queue wait between collection
 * and inference never lets a lock lapse and the job get picked up twice.
 */
export class LockKeeper {
  private readonly held = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly options: LockKeeperOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = this.options.renewEveryMs ?? Math.max(250, Math.floor(this.options.lockDurationMs / 2));
    this.timer = setInterval(() => {
      if (!this.renewing) this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, every);
  }

  hold(jobIds: string[], token: string): void {
    for (const id of jobIds) this.held.set(id, token);
  }

  release(jobIds: string[]): void {
    for (const id of jobIds) this.held.delete(id);
  }

  get size(): number {
    return this.held.size;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const ids = [...this.held.keys()];
    const tokens = ids.map((id) => this.held.get(id)!);
    try {
      const lost = await this.worker.extendJobLocks(ids, tokens, this.options.lockDurationMs);
      if (lost.length > 0) this.logger.warn({ jobIds: lost }, 'could not extend job locks; the jobs may be retried elsewhere');
    } catch (err) {
      this.logger.warn({ err }, 'extending job locks failed');
    }
  }
}
