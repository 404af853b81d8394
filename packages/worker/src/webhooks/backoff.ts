import type { BackoffStrategy } from 'bullmq';

/** No single wait is longer than this, whatever the base or a Retry-After asks. */
export const maxWebhookDelayMs = 3_600_000;

/**
 * Exponential backoff with full jitter (AWS architecture blog): retry k waits a
 * uniformly random time in [0, base * 2^(k-1)]. Spreading the retries keeps a
 * receiver that just came back from being hit by every pending delivery at
 * once. A Retry-After from the receiver (429/503) raises the wait to at least
 * that long.
 */
export function webhookBackoffDelay(baseMs: number, attemptsMade: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const cap = Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), maxWebhookDelayMs);
  const delay = Math.floor(random() * cap);
  return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, maxWebhookDelayMs));
}

/** The longest total wait of a delivery over `attempts` tries (for docs and sanity checks). */
export function webhookScheduleSpanMs(baseMs: number, attempts: number): number {
  let total = 0;
  for (let k = 1; k < attempts; k++) total += Math.min(baseMs * 2 ** (k - 1), maxWebhookDelayMs);
  return total;
}

/** BullMQ `settings.backoffStrategy` for the webhooks Worker. */
export function webhookBackoffStrategy(baseMs: number, random: () => number = Math.random): BackoffStrategy {
  return (attemptsMade, _type, err) =>
    webhookBackoffDelay(baseMs, attemptsMade, random, (err as { retryAfterMs?: number } | undefined)?.retryAfterMs);
}
