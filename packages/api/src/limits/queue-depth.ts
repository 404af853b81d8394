import type { RedisClient } from '@maskq/shared';
import { queueNames, type Keys } from '@maskq/shared';

export interface QueueDepthOptions {
  /** Oldest a cached reading may be before the next call refreshes it. */
  maxAgeMs?: number;
}

/**
 * The detection queue's waiting jobs (wait list + prioritized set), read from
 * Redis at most once per `maxAgeMs` however many requests ask: concurrent
 * callers share one refresh. A failed read keeps the last value (fail open:
 * the enqueue itself reports a Redis outage).
 */
export class QueueDepth {
  private value = 0;
  private readAt = 0;
  private refreshing: Promise<number> | undefined;
  private readonly maxAgeMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    options: QueueDepthOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 250;
  }

  async current(): Promise<number> {
    if (Date.now() - this.readAt < this.maxAgeMs) return this.value;
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(): Promise<number> {
    if (this.redis.status !== 'ready') return this.value;
    try {
      const results = await this.redis
        .pipeline()
        .llen(this.keys.detectWaitList())
        .zcard(`${this.keys.bullPrefix}:${queueNames.detect}:prioritized`)
        .exec();
      let total = 0;
      for (const [err, n] of results ?? []) if (!err) total += Number(n) || 0;
      this.value = total;
    } catch {
      // keep the last reading
    }
    this.readAt = Date.now();
    return this.value;
  }
}
