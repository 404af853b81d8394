import type { DetectJob, JobResource } from '@maskq/shared';
import type { AppDeps } from '../deps.js';
import { withRedis } from '../errors/redis-guard.js';
import { jobResourceFor } from '../jobs/lookup.js';
import type { JobEvent } from './job-events-hub.js';

export interface FinishedJob {
  /** The job resource as `GET /v1/jobs/:id` shows it in its final state. */
  resource: JobResource;
  /** Whose job it is (API keys); undefined for a removed job, whose data is gone. */
  owner: string | undefined;
  /** True for a job removed (cancelled) from the queue: its owner is unknown. */
  removed?: boolean;
}

export type FinishedJobListener = (finished: FinishedJob | 'closed') => void;

type FeedDeps = Pick<AppDeps, 'events' | 'detectQueue' | 'redis' | 'keys' | 'config' | 'logger'>;

/**
 * The final state of every job, as job resources, for `GET /v1/events`. One per app: it reads
 * each finished job once, however many streams listen, and follows the hub only while someone
 * does. A stream per client instead of one per job saves an HTTP request per job on both sides.
 */
export class FinishedJobsFeed {
  private readonly listeners = new Set<FinishedJobListener>();
  private stopFollowing: (() => void) | undefined;

  constructor(private readonly deps: FeedDeps) {}

  subscribe(listener: FinishedJobListener): () => void {
    this.listeners.add(listener);
    this.stopFollowing ??= this.deps.events.subscribeAll((event) => this.onEvent(event));
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.stopFollowing) {
        this.stopFollowing();
        this.stopFollowing = undefined;
      }
    };
  }

  private emit(finished: FinishedJob | 'closed'): void {
    for (const listener of [...this.listeners]) listener(finished);
  }

  private onEvent(event: JobEvent): void {
    switch (event.type) {
      case 'closed':
        return this.emit('closed');
      case 'removed':
        return this.emit({ resource: { id: event.jobId, status: 'cancelled' } as JobResource, owner: undefined, removed: true });
      case 'completed':
      case 'failed':
        void this.read(event.jobId, event.type);
        return;
      default:
        return;
    }
  }

  /** The job's data (owner, submission time, metadata, webhook) is not in the event: one read. */
  private async read(jobId: string, state: 'completed' | 'failed'): Promise<void> {
    try {
      const job = (await withRedis(this.deps.config.API_REDIS_TIMEOUT_MS, () => this.deps.detectQueue.getJob(jobId))) as DetectJob | undefined;
      // Gone already (a result TTL of 0): nothing to show; its owner polls and gets 404.
      if (!job) return;
      const resource = await jobResourceFor(this.deps, job, state);
      this.emit({ resource, owner: job.data.owner });
    } catch (err) {
      this.deps.logger.warn({ err: { message: (err as Error).message }, jobId }, 'finished jobs feed: could not read a finished job');
    }
  }
}
