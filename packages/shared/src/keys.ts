/**
 * Every Redis key and queue name maskq uses, built in one place.
 *
 * Cluster layout: BullMQ keeps all keys of a queue in the slot of its prefix's
 * hash tag (`{maskq}`), as BullMQ documents for Redis Cluster. Our own per-job
 * keys carry the job id as their hash tag, so blobs spread over the cluster
 * while every key of one job lands in one slot.
 */
export const queueNames = {
  detect: 'detect',
  webhooks: 'webhooks',
} as const;

export interface Keys {
  /** BullMQ `prefix` option. */
  readonly bullPrefix: string;
  /** Image bytes of a job, deleted when the job finishes. */
  blob(jobId: string): string;
  /** Annotated JPEG of a job, kept as long as its result. */
  annotated(jobId: string): string;
  /** BullMQ's wait list of the detection queue (what KEDA counts). */
  detectWaitList(): string;
  /** Pub/sub channel for job state changes. */
  eventsChannel(): string;
  idempotency(owner: string, key: string): string;
  rateLimit(owner: string): string;
  webhookState(jobId: string): string;
}

export function createKeys(prefix: string): Keys {
  const bullPrefix = `{${prefix}}`;
  return {
    bullPrefix,
    blob: (jobId) => `${prefix}:blob:{${jobId}}`,
    annotated: (jobId) => `${prefix}:annotated:{${jobId}}`,
    detectWaitList: () => `${bullPrefix}:${queueNames.detect}:wait`,
    eventsChannel: () => `${prefix}:events`,
    idempotency: (owner, key) => `${prefix}:idem:{${owner}:${key}}`,
    rateLimit: (owner) => `${prefix}:rate:{${owner}}`,
    webhookState: (jobId) => `${prefix}:webhook:{${jobId}}`,
  };
}
