import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { BlobStore, createKeys, formatFailedReason, parseFailedReason } from '@maskq/shared';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const prefix = uniquePrefix('blob');
const redis = new Redis(testRedisUrl);
afterAll(async () => {
  await deleteKeysUnder(redis, prefix);
  redis.disconnect();
});

describe('BlobStore', () => {
  const store = new BlobStore(redis, createKeys(prefix), 60);

  it('stores bytes with a TTL and reads a batch back in order, null for missing', async () => {
    const a = Buffer.from([0xff, 0xd8, 0x00, 0x01]);
    const b = Buffer.from('second image');
    const [keyA, keyB] = await store.putMany([
      { jobId: 'a', bytes: a },
      { jobId: 'b', bytes: b },
    ]);
    const ttl = await redis.ttl(keyA!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    const got = await store.getMany([keyB!, store.keyFor('missing'), keyA!]);
    expect(got[0]?.equals(b)).toBe(true);
    expect(got[1]).toBeNull();
    expect(got[2]?.equals(a)).toBe(true);
    await store.delete([keyA!, keyB!]);
    expect(await redis.exists(keyA!, keyB!)).toBe(0);
  });
});

describe('failed reasons', () => {
  it('round-trips a code and message', () => {
    expect(parseFailedReason(formatFailedReason('invalid_image', 'truncated: data'))).toEqual({
      code: 'invalid_image',
      message: 'truncated: data',
    });
  });
  it('hides unknown failures behind internal_error', () => {
    expect(parseFailedReason('TypeError: x is undefined').code).toBe('internal_error');
    expect(parseFailedReason(undefined).code).toBe('internal_error');
  });
});
