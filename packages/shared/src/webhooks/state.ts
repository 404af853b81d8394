import type { RedisClient } from '../redis/connection.js';
import type { Keys } from '../keys.js';
import type { JobResource } from '../schemas/job.js';

/** The `webhook` field of the job resource. */
export type WebhookState = NonNullable<JobResource['webhook']>;
export type WebhookStatus = WebhookState['status'];

/**
 * Delivery state of a job's webhook, a small hash beside the job
 * (`keys.webhookState(jobId)`), written by the dispatcher on every attempt
 * and expiring with the result.
 */
export async function readWebhookState(redis: RedisClient, keys: Keys, jobId: string): Promise<WebhookState | undefined> {
  const hash = await redis.hgetall(keys.webhookState(jobId));
  return parseWebhookState(hash);
}

export function parseWebhookState(hash: Record<string, string>): WebhookState | undefined {
  const status = hash.status;
  if (status !== 'pending' && status !== 'delivered' && status !== 'failed') return undefined;
  const state: WebhookState = { status, attempts: Number(hash.attempts ?? 0) || 0 };
  if (hash.last_status) state.last_status = Number(hash.last_status);
  if (hash.last_error) state.last_error = hash.last_error;
  return state;
}

/** Replaces the whole state in one MULTI and (re)sets its expiry. */
export async function writeWebhookState(
  redis: RedisClient,
  keys: Keys,
  jobId: string,
  state: WebhookState,
  ttlSeconds: number,
): Promise<void> {
  const key = keys.webhookState(jobId);
  const fields: Record<string, string> = { status: state.status, attempts: String(state.attempts) };
  if (state.last_status !== undefined) fields.last_status = String(state.last_status);
  if (state.last_error !== undefined) fields.last_error = state.last_error;
  await redis.multi().del(key).hset(key, fields).expire(key, ttlSeconds).exec();
}
