import type { Job, JobState } from 'bullmq';
import type { DetectJobData, DetectJobReturn, JobResource, JobStatus } from '../schemas/job.js';
import { parseFailedReason } from './failure.js';

export type DetectJob = Job<DetectJobData, DetectJobReturn>;

export function statusOf(state: JobState | 'unknown', failedReason?: string): JobStatus {
  switch (state) {
    case 'active':
      return 'processing';
    case 'completed':
      return 'completed';
    case 'failed': {
      const { code } = parseFailedReason(failedReason);
      if (code === 'expired') return 'expired';
      if (code === 'cancelled') return 'cancelled';
      return 'failed';
    }
    default:
      return 'queued';
  }
}

const iso = (ms: number | undefined): string | undefined => (ms ? new Date(ms).toISOString() : undefined);

/**
 * The job resource exactly as `GET /v1/jobs/:id` shows it; webhooks and events
 * send the same object. Absent fields are omitted.
 */
export function toJobResource(
  job: DetectJob,
  state: JobState | 'unknown',
  extra: Pick<JobResource, 'webhook'> = {},
): JobResource {
  const data = job.data;
  const status = statusOf(state, job.failedReason);
  const resource: JobResource = {
    id: job.id!,
    status,
    created_at: new Date(data.submittedAt ?? job.timestamp).toISOString(),
  };
  const returned = status === 'completed' ? (job.returnvalue as DetectJobReturn | null) : null;
  const startedAt = returned?.startedAt ?? job.processedOn;
  const finishedAt = status === 'completed' ? (returned?.finishedAt ?? job.finishedOn) : status === 'processing' || status === 'queued' ? undefined : job.finishedOn;
  if (status !== 'queued' && startedAt) resource.started_at = iso(startedAt);
  if (finishedAt) resource.finished_at = iso(finishedAt);
  if (returned) {
    resource.result = returned.result;
    resource.model = returned.model;
  }
  if (status === 'failed' || status === 'expired' || status === 'cancelled') {
    resource.error = parseFailedReason(job.failedReason);
  }
  const submittedAt = data.submittedAt ?? job.timestamp;
  const timings: NonNullable<JobResource['timings']> = {};
  if (startedAt && status !== 'queued') timings.queue_ms = Math.max(0, startedAt - submittedAt);
  if (returned) timings.inference_ms = Math.round(returned.inferenceMs * 100) / 100;
  if (finishedAt) timings.total_ms = Math.max(0, finishedAt - submittedAt);
  if (Object.keys(timings).length > 0) resource.timings = timings;
  if (data.metadata) resource.metadata = data.metadata;
  if (extra.webhook) resource.webhook = extra.webhook;
  resource.links = { self: `/v1/jobs/${job.id}` };
  // Only when the worker stored one; it expires with the result (RESULT_TTL_SECONDS).
  if (returned?.annotatedKey) resource.links.annotated = `/v1/jobs/${job.id}/annotated.jpg`;
  return resource;
}
