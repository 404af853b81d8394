import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyring } from '../src/auth/api-keys.js';
import { fixture, form, startTestApi, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const jpeg = fixture('mask_01.jpg');
const png = fixture('mask_08.png');
const keyA = 'idem-key-a-0123456789';
const keyB = 'idem-key-b-0123456789';
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('api-idem'), deps: { apiKeys: createApiKeyring([keyA, keyB]) } });
});
afterAll(async () => {
  await api?.close();
});

function submit(bytes: Buffer, idempotencyKey: string | undefined, key = keyA) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  return fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', bytes, 'a.jpg']]), headers });
}

describe('Idempotency-Key on POST /v1/jobs', () => {
  it('replays the same job for the same key and image: 200, the original body, Idempotent-Replayed', async () => {
    const first = await submit(jpeg, 'order-1');
    expect(first.status).toBe(202);
    const original = (await first.json()) as { id: string };
    const again = await submit(jpeg, 'order-1');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(original);
    expect(await api.detectQueue.count()).toBe(1);
    // The record names the job, scoped by owner, with a 24 h expiry.
    const [redisKey] = await api.inspect.keys(`${api.config.QUEUE_PREFIX}:idem:*`);
    const ttl = await api.inspect.ttl(redisKey!);
    expect(ttl).toBeGreaterThan(24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
  });

  it('answers 409 conflict for the same key with a different image', async () => {
    const res = await submit(png, 'order-1');
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('conflict');
    expect(await api.detectQueue.count()).toBe(1);
  });

  it('scopes keys per API key owner', async () => {
    const res = await submit(png, 'order-1', keyB);
    expect(res.status).toBe(202);
  });

  it('creates one job for concurrent requests with the same key', async () => {
    const before = await api.detectQueue.count();
    const responses = await Promise.all(Array.from({ length: 8 }, () => submit(jpeg, 'burst-7')));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(7);
    expect(await api.detectQueue.count()).toBe(before + 1);
  });

  it('refuses a malformed key with 400 and leaves the claim free when the upload is invalid', async () => {
    const long = await submit(jpeg, 'x'.repeat(256));
    expect(long.status).toBe(400);
    const bad = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      body: form([['image', Buffer.from('not an image'), 'a.jpg']]),
      headers: { authorization: `Bearer ${keyA}`, 'idempotency-key': 'order-9' },
    });
    expect(bad.status).toBe(415);
    expect((await submit(jpeg, 'order-9')).status).toBe(202);
  });
});
