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
  const scrapeErrors = new Counter({
    name: 'maskq_queue_scrape_errors_total',
    help: 'Scrapes that could not read a queue\'s job counts from Redis',
    labelNames: ['queue'],
    registers: [registry],
  });
  for (const queue of queues) scrapeErrors.inc({ queue: queue.name }, 0);

  const jobs: Gauge<'queue' | 'state'> = new Gauge({
    name: 'maskq_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      // A queue that cannot be read shows no series (absent, not a stale or fake 0).
      this.reset();
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const counts = await queue.getJobCounts(...queueStates);
            for (const state of queueStates) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch (err) {
            scrapeErrors.inc({ queue: queue.name });
            onError?.(err, queue.name);
          }
        }),
      );
    },
  });
  return { jobs, scrapeErrors };
}
