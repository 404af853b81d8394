import { Counter, Gauge, type Registry } from 'prom-client';

/** States reported by `maskq_queue_jobs`. BullMQ's `paused` is folded into `waiting` since v5. */
export const queueStates = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'completed', 'waiting-children'] as const;
export type QueueState = (typeof queueStates)[number];

/** The part of a BullMQ Queue this module uses (any Queue satisfies it). */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface QueueMetricsOptions {
  queues: readonly CountableQueue[];
  /** Called when a queue cannot be counted (Redis down); the scrape still succeeds. */
  onError?: (err: unknown, queue: string) => void;
}

export interface QueueMetrics {
  jobs: Gauge<'queue' | 'state'>;
  scrapeErrors: Counter<'queue'>;
}

/**
 * Queue depth by state, read from Redis when Prometheus scrapes: one
 * `getJobCounts` call per queue per scrape (a few O(1) LLEN/ZCARD in one
 * round trip), no timers, no stale values between scrapes.
 */
export function createQueueMetrics(registry: Registry, { queues, onError }: QueueMetricsOptions): QueueMetrics {
  type Read = { queue: string; counts?: Record<string, number> };
  // Both metrics below collect from one read per scrape: prom-client calls
  // every collect() of a scrape in the same tick, so they share this promise.
  let pending: Promise<Read[]> | undefined;
  const read = (): Promise<Read[]> => {
    pending ??= Promise.all(
      queues.map(async (queue): Promise<Read> => {
        try {
          return { queue: queue.name, counts: await queue.getJobCounts(...queueStates) };
        } catch (err) {
          onError?.(err, queue.name);
          return { queue: queue.name };
        }
      }),
    ).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const scrapeErrors: Counter<'queue'> = new Counter({
    name: 'maskq_queue_scrape_errors_total',
    help: "Scrapes that could not read a queue's job counts from Redis",
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const result of await read()) if (!result.counts) this.inc({ queue: result.queue });
    },
  });
  for (const queue of queues) scrapeErrors.inc({ queue: queue.name }, 0);

  const jobs: Gauge<'queue' | 'state'> = new Gauge({
    name: 'maskq_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const results = await read();
      // A queue that cannot be read shows no series (absent, not a stale or fake 0).
      this.reset();
      for (const { queue, counts } of results) {
        if (counts) for (const state of queueStates) this.set({ queue, state }, counts[state] ?? 0);
      }
    },
  });
  return { jobs, scrapeErrors };
}
