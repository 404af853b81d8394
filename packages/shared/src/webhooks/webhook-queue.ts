import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { isCluster, type RedisClient } from '../redis/connection.js';
import type { Config } from '../config/schema.js';
import type { Keys } from '../keys.js';
import { queueNames } from '../keys.js';
import type { DetectJobData } from '../schemas/job.js';
import { webhookIdFor } from './signing.js';

export const webhookEvents = ['completed', 'failed'] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

/** A webhook job names the detect job and event; the payload is built at delivery time. */
export interface WebhookJobData {
  /** the detect job whose resource is sent */
  jobId: string;
  event: WebhookEvent;
  /** `webhook-id` header, the same on every attempt */
  webhookId: string;
}

/** Name of the custom BullMQ backoff the dispatcher's Worker implements. */
export const webhookBackoffType = 'webhook';

export interface WebhookEntry {
  jobId: string;
  event: WebhookEvent;
}

export type WebhookConfig = Pick<Config, 'WEBHOOK_MAX_ATTEMPTS' | 'RESULT_TTL_SECONDS'>;

export interface WebhookQueue {
  readonly queue: Queue<WebhookJobData>;
  readonly keys: Keys;
  /** where delivery state is written (keys.webhookState) */
  readonly redis: RedisClient;
  /** how long delivery state and finished webhook jobs are kept (RESULT_TTL_SECONDS) */
  readonly stateTtlSeconds: number;
  close(): Promise<void>;
}

export function webhookJobOptions(config: WebhookConfig): JobsOptions {
  return {
    attempts: config.WEBHOOK_MAX_ATTEMPTS,
    backoff: { type: webhookBackoffType },
    // Finished jobs are kept as long as results, so a replayed enqueue with the same jobId is a no-op.
    removeOnComplete: { age: config.RESULT_TTL_SECONDS },
    removeOnFail: { age: config.RESULT_TTL_SECONDS },
  };
}

/** BullMQ job id of one (detect job, event); BullMQ refuses ':' in custom ids. */
export function webhookJobId(jobId: string, event: WebhookEvent): string {
  return `${jobId}.${event}`;
}

export interface WebhookQueueOptions {
  connection: ConnectionOptions;
  keys: Keys;
  config: WebhookConfig;
  /** a non-blocking client (createRedis) for the delivery state; not closed by close() */
  redis: RedisClient;
}

export function createWebhookQueue({ connection, keys, config, redis }: WebhookQueueOptions): WebhookQueue {
  const queue = new Queue<WebhookJobData>(queueNames.webhooks, {
    connection,
    prefix: keys.bullPrefix,
    defaultJobOptions: webhookJobOptions(config),
  });
  return { queue, keys, redis, stateTtlSeconds: config.RESULT_TTL_SECONDS, close: () => queue.close() };
}

/**
 * The webhooks a finished detect job asks for: none without a callback, or
 * when the client did not subscribe to this event.
 */
export function webhookEntriesFor(
  job: { id?: string | undefined; data: Pick<DetectJobData, 'callback'> },
  event: WebhookEvent,
): WebhookEntry[] {
  if (!job.id || !job.data.callback) return [];
  return job.data.callback.events.includes(event) ? [{ jobId: job.id, event }] : [];
}

/**
 * Enqueues deliveries (one BullMQ job per detect job and event, deterministic
 * id, so calling twice for the same event never sends twice) and marks each
 * job's webhook `pending` unless a state already exists.
 */
export async function enqueueWebhooks(webhooks: WebhookQueue, entries: WebhookEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const markPending = (pipeline: ChainableCommander, jobId: string) => {
    const key = webhooks.keys.webhookState(jobId);
    pipeline.hsetnx(key, 'status', 'pending');
    pipeline.hsetnx(key, 'attempts', '0');
    pipeline.expire(key, webhooks.stateTtlSeconds);
  };
  // One pipeline on one node; on a Cluster each job's state key has its own slot, so one pipeline per key.
  const pipelines = isCluster(webhooks.redis)
    ? entries.map(({ jobId }) => {
        const pipeline = webhooks.redis.pipeline();
        markPending(pipeline, jobId);
        return pipeline;
      })
    : [entries.reduce((pipeline, { jobId }) => (markPending(pipeline, jobId), pipeline), webhooks.redis.pipeline())];
  const results = (await Promise.all(pipelines.map((pipeline) => pipeline.exec()))).flatMap((r) => r ?? []);
  const failed = results.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
  await webhooks.queue.addBulk(
    entries.map(({ jobId, event }) => ({
      name: event,
      data: { jobId, event, webhookId: webhookIdFor(jobId, event) },
      opts: { jobId: webhookJobId(jobId, event) },
    })),
  );
}
