import type { JobState } from 'bullmq';
import { readWebhookState, toJobResource, type DetectJob, type JobResource } from '@maskq/shared';
import { notFound, unavailable } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import type { AppDeps } from '../deps.js';

// Ids we hand out are UUIDs; anything far off that shape cannot be a job of ours.
const plausibleId = /^[A-Za-z0-9_-]{1,128}$/;

export async function findJob(deps: AppDeps, id: string): Promise<{ job: DetectJob; state: JobState | 'unknown' } | undefined> {
  if (!plausibleId.test(id)) return undefined;
  // BullMQ waits for a connection to come back; answer at once instead while it is down.
  if (deps.redis.status !== 'ready') throw unavailable();
  return withRedis(deps.config.API_REDIS_TIMEOUT_MS, async () => {
    let job = (await deps.detectQueue.getJob(id)) as DetectJob | undefined;
    if (!job) return undefined;
    const state = await job.getState();
    // The job may have finished between the two reads: then our copy lacks its result. Read it again.
    if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
      job = (await deps.detectQueue.getJob(id)) as DetectJob | undefined;
      if (!job) return undefined;
    }
    return { job, state };
  });
}

export async function requireJob(deps: AppDeps, id: string): Promise<{ job: DetectJob; state: JobState | 'unknown' }> {
  const found = await findJob(deps, id);
  if (!found) throw notFound(`no job ${id}`);
  return found;
}

export const jobLink = (id: string) => `/v1/jobs/${id}`;

/** The job resource, with its webhook delivery state when the job asked for a callback. */
export async function jobResourceFor(deps: Pick<AppDeps, 'redis' | 'keys' | 'config'>, job: DetectJob, state: JobState | 'unknown'): Promise<JobResource> {
  if (!job.data.callback || !job.id) return toJobResource(job, state);
  const webhook = await withRedis(deps.config.API_REDIS_TIMEOUT_MS, () => readWebhookState(deps.redis, deps.keys, job.id!));
  return toJobResource(job, state, webhook ? { webhook } : {});
}
