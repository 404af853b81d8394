import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createKeys } from '@maskq/shared';
import { createApiKeyring } from '../src/auth/api-keys.js';
import { QueueDepth } from '../src/limits/queue-depth.js';
import { RateLimiter } from '../src/limits/rate-limiter.js';
import { fixture, form, sleep, startTestApi, type TestApi } from './harness.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const jpeg = fixture('mask_01.jpg');
const keyA = 'rate-key-a-0123456789';
const keyB = 'rate-key-b-0123456789';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const submit = (api: TestApi, key: string) =>
  fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]), headers: auth(key) });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe('rate limit (token bucket in Redis)', () => {
  const prefix = uniquePrefix('api-rate');
  // Slow refill (one token per 5 s) so the test's own duration cannot refill the bucket.
  const env = { RATE_LIMIT_PER_SECOND: '0.2', RATE_LIMIT_BURST: '3' };
  let one: TestApi;
  let two: TestApi;
  beforeAll(async () => {
    const apiKeys = createApiKeyring([keyA, keyB]);
    // Two API replicas sharing Redis and the prefix.
    one = await startTestApi({ prefix, env, deps: { apiKeys } });
    two = await startTestApi({ prefix, env, deps: { apiKeys } });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('allows the burst across two replicas, then answers 429 rate_limited with Retry-After; other keys keep their own bucket', async () => {
    expect((await submit(one, keyA)).status).toBe(202);
    expect((await submit(two, keyA)).status).toBe(202);
    expect((await submit(one, keyA)).status).toBe(202);
    for (const api of [two, one]) {
      const res = await submit(api, keyA);
      expect(res.status).toBe(429);
      expect(await errorCode(res)).toBe('rate_limited');
      const retryAfter = res.headers.get('retry-after');
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(5);
    }
    expect(await one.detectQueue.count()).toBe(3);
    expect((await submit(two, keyB)).status).toBe(202);
  });

  it('charges a batch one token per image', async () => {
    // keyB has 2 tokens left: a batch of 3 is refused, nothing is enqueued from it.
    const before = await one.detectQueue.count();
    const batch = form([
      ['images', jpeg, 'a.jpg'],
      ['images', jpeg, 'b.jpg'],
      ['images', jpeg, 'c.jpg'],
    ]);
    const res = await fetch(`${one.url}/v1/jobs/batch`, { method: 'POST', body: batch, headers: auth(keyB) });
    expect(res.status).toBe(429);
    expect(await one.detectQueue.count()).toBe(before);
  });

  it('is atomic under concurrency: exactly `burst` of many simultaneous takes succeed', async () => {
    const redis = new Redis(testRedisUrl);
    const p = uniquePrefix('rate-unit');
    try {
      const limiter = new RateLimiter(redis, createKeys(p), { ratePerSecond: 0.01, burst: 5 });
      const results = await Promise.all(Array.from({ length: 20 }, () => limiter.take('owner')));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      const big = await limiter.take('other', 6);
      expect(big).toEqual({ allowed: false, retryAfterMs: 0, neverFits: true });
      const off = new RateLimiter(redis, createKeys(p), { ratePerSecond: 0, burst: 0 });
      expect(off.enabled).toBe(false);
      expect((await off.take('owner', 100)).allowed).toBe(true);
    } finally {
      await deleteKeysUnder(redis, p);
      redis.disconnect();
    }
  });
});

describe('backpressure (MAX_QUEUE_DEPTH)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ prefix: uniquePrefix('api-depth'), env: { MAX_QUEUE_DEPTH: '3' } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 503 overloaded with Retry-After once more jobs wait than allowed, and nothing is enqueued', async () => {
    expect((await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) })).status).toBe(202);
    await api.detectQueue.addBulk(Array.from({ length: 3 }, () => ({ name: 'detect', data: { blobKey: 'x', format: 'jpeg' as const, bytes: 1, submittedAt: Date.now() } })));
    await sleep(300); // the cached depth is at most 250 ms old
    for (const path of ['/v1/jobs', '/v1/detect']) {
      const res = await fetch(`${api.url}${path}`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) });
      expect(res.status).toBe(503);
      expect(await errorCode(res)).toBe('overloaded');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(await api.detectQueue.count()).toBe(4);
  });

  it('reads the depth from Redis at most once per 250 ms (a cached value in between)', async () => {
    const redis = new Redis(testRedisUrl);
    const p = uniquePrefix('depth-unit');
    const keys = createKeys(p);
    try {
      await redis.ping();
      const depth = new QueueDepth(redis, keys, { maxAgeMs: 250 });
      expect(await depth.current()).toBe(0);
      await redis.lpush(keys.detectWaitList(), 'a', 'b');
      expect(await depth.current()).toBe(0); // still the cached reading
      await sleep(300);
      expect(await depth.current()).toBe(2);
      await redis.zadd(`${keys.bullPrefix}:detect:prioritized`, 1, 'c');
      await sleep(300);
      const concurrent = await Promise.all(Array.from({ length: 10 }, () => depth.current()));
      expect(concurrent).toEqual(Array(10).fill(3));
    } finally {
      await deleteKeysUnder(redis, p);
      redis.disconnect();
    }
  });
});
