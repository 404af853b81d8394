import { QueueEvents } from 'bullmq';
import type { RedisClient } from '@maskq/shared';
import { queueNames, type Keys, type Logger } from '@maskq/shared';
import { settleWithin } from '../util/within.js';

/** The BullMQ queue events a job's status can change on. */
export const jobEventTypes = ['waiting', 'active', 'completed', 'failed', 'delayed', 'removed', 'stalled'] as const;
export type JobEventType = (typeof jobEventTypes)[number];

export interface JobEvent {
  type: JobEventType | 'closed';
  jobId: string;
  /** `completed`: what the worker returned (BullMQ puts it in the event, already parsed) */
  returnvalue?: unknown;
  /** `failed`: the job's failedReason */
  failedReason?: string;
}

export type JobEventListener = (event: JobEvent) => void;

export type FinishOutcome = 'completed' | 'failed' | 'removed' | 'timeout' | 'aborted' | 'closed';

/** How a wait ended; for `completed` / `failed` also the event that ended it (its result or reason). */
export interface Finish {
  outcome: FinishOutcome;
  event?: JobEvent;
}

/**
 * One BullMQ `QueueEvents` reader per process (one blocking XREAD on the
 * queue's event stream), fanned out to whoever waits on a job id. Because the
 * events come from a Redis stream, a job finished by any worker reaches every
 * API replica; nothing polls Redis per request.
 */
export class JobEventsHub {
  private readonly listeners = new Map<string, Set<JobEventListener>>();
  /** Listeners of every job's events (the finished-jobs feed behind `GET /v1/events`). */
  private readonly everyJob = new Set<JobEventListener>();
  private closed = false;
  private delivered = false;

  constructor(
    private readonly queueEvents: QueueEvents,
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {
    for (const type of jobEventTypes) {
      queueEvents.on(type as 'waiting', (args: { jobId: string; returnvalue?: unknown; failedReason?: string }) => {
        const event: JobEvent = { type, jobId: args.jobId };
        if (type === 'completed') event.returnvalue = args.returnvalue;
        if (type === 'failed') event.failedReason = args.failedReason;
        this.dispatch(event);
      });
    }
  }

  /** Resolves once the event reader is connected. */
  waitUntilReady(): Promise<unknown> {
    return this.queueEvents.waitUntilReady();
  }

  /**
   * True once the reader has delivered an event. From then on it reads on from
   * the last event it saw (across reconnects), so every event written later
   * reaches it: a caller that saw `live` before writing a job need not read the
   * job's state to catch events that came before the reader started.
   */
  get live(): boolean {
    return this.delivered;
  }

  /** Number of listeners to every job's events (for tests). */
  get subscribedToAll(): number {
    return this.everyJob.size;
  }

  /** Number of job ids with listeners (for tests and metrics). */
  get subscribedJobs(): number {
    return this.listeners.size;
  }

  subscribe(jobId: string, listener: JobEventListener): () => void {
    if (this.closed) {
      queueMicrotask(() => listener({ type: 'closed', jobId }));
      return () => undefined;
    }
    let set = this.listeners.get(jobId);
    if (!set) {
      set = new Set();
      this.listeners.set(jobId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(jobId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Every event of every job, from now on; `closed` (job id '') when the hub goes away. */
  subscribeAll(listener: JobEventListener): () => void {
    if (this.closed) {
      queueMicrotask(() => listener({ type: 'closed', jobId: '' }));
      return () => undefined;
    }
    this.everyJob.add(listener);
    return () => {
      this.everyJob.delete(listener);
    };
  }

  /**
   * Resolves when the job completes, fails for good or is removed, after
   * `timeoutMs`, or when `signal` aborts. Subscribes at once: call it before
   * checking the job's state so no event can slip between the two.
   */
  waitForFinish(
    jobId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): { finished: Promise<Finish>; settle: (outcome: FinishOutcome) => void } {
    let settle: (finish: Finish) => void = () => undefined;
    const finished = new Promise<Finish>((resolve) => {
      settle = resolve;
    });
    let done = false;
    const finish = (outcome: FinishOutcome, event?: JobEvent) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      settle(event ? { outcome, event } : { outcome });
    };
    const onAbort = () => finish('aborted');
    const unsubscribe = this.subscribe(jobId, (event) => {
      if (event.type === 'completed' || event.type === 'failed') finish(event.type, event);
      else if (event.type === 'removed' || event.type === 'closed') finish(event.type);
    });
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    if (signal?.aborted) finish('aborted');
    else signal?.addEventListener('abort', onAbort, { once: true });
    return { finished, settle: (outcome) => finish(outcome) };
  }

  /** Tells every listener the hub is going away (SSE streams end), then stops reading. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [jobId, set] of [...this.listeners]) {
      for (const listener of [...set]) listener({ type: 'closed', jobId });
    }
    this.listeners.clear();
    for (const listener of [...this.everyJob]) listener({ type: 'closed', jobId: '' });
    this.everyJob.clear();
    // QueueEvents.close() waits for its connection; on a dead Redis that is forever.
    const closing = this.queueEvents.close();
    await this.onClose();
    await settleWithin(closing, 1000);
  }

  private dispatch(event: JobEvent): void {
    this.delivered = true;
    for (const listener of this.everyJob) listener(event);
    const set = this.listeners.get(event.jobId);
    if (!set) return;
    for (const listener of [...set]) listener(event);
  }
}

export interface CreateJobEventsHubOptions {
  /** A dedicated blocking connection (createRedis(config, { blocking: true })); the hub closes it. */
  connection: RedisClient;
  keys: Keys;
  logger?: Logger;
}

export function createJobEventsHub({ connection, keys, logger }: CreateJobEventsHubOptions): JobEventsHub {
  const queueEvents = new QueueEvents(queueNames.detect, { connection, prefix: keys.bullPrefix });
  queueEvents.on('error', (err) => logger?.warn({ err: { message: (err as Error).message } }, 'queue events reader error'));
  return new JobEventsHub(queueEvents, async () => {
    connection.disconnect();
  });
}
