import { describe, expect, it } from 'vitest';
import { maxWebhookDelayMs, webhookBackoffDelay, webhookBackoffStrategy, webhookScheduleSpanMs } from '../src/webhooks/backoff.js';

describe('webhook backoff (exponential, full jitter)', () => {
  it('draws retry k uniformly from [0, base * 2^(k-1))', () => {
    expect(webhookBackoffDelay(30_000, 1, () => 0)).toBe(0);
    expect(webhookBackoffDelay(30_000, 1, () => 0.5)).toBe(15_000);
    expect(webhookBackoffDelay(30_000, 3, () => 0.5)).toBe(60_000);
    expect(webhookBackoffDelay(30_000, 7, () => 0.999_999)).toBe(1_919_998);
  });

  it('never waits longer than an hour, and honours Retry-After up to that', () => {
    expect(webhookBackoffDelay(30_000, 30, () => 0.999_999)).toBeLessThan(maxWebhookDelayMs);
    expect(webhookBackoffDelay(30_000, 1, () => 0, 120_000)).toBe(120_000);
    expect(webhookBackoffDelay(30_000, 1, () => 0, 10 * maxWebhookDelayMs)).toBe(maxWebhookDelayMs);
  });

  it('spans about an hour with the defaults (8 attempts, 30 s base)', () => {
    const span = webhookScheduleSpanMs(30_000, 8);
    expect(span).toBe(30_000 * 127);
    expect(span / 3_600_000).toBeGreaterThan(0.9);
    expect(span / 3_600_000).toBeLessThan(1.2);
  });

  it('reads Retry-After from the error BullMQ hands the strategy', async () => {
    const strategy = webhookBackoffStrategy(1000, () => 0);
    expect(await strategy(2, 'webhook', Object.assign(new Error('429'), { retryAfterMs: 5000 }))).toBe(5000);
    expect(await strategy(2, 'webhook', new Error('500'))).toBe(0);
  });
});
