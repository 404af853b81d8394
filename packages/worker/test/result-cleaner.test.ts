import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { UnrecoverableError, Worker } from 'bullmq';
import { createDetectQueue, createKeys, createLogger, loadConfig, queueNames } from '@maskq/shared';
import { ResultCleaner } from '../src/retention/result-cleaner.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const prefix = uniquePrefix('cleaner');
const config = loadConfig({ REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix, RESULT_TTL_SECONDS: '1', FAILED_TTL_SECONDS: '2', JOB_ATTEMPTS: '1' });
const keys = createKeys(prefix);
const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
const queue = createDetectQueue({ connection, keys, config });

afterAll(async () => {
  await queue.close();
  await deleteKeysUnder(connection, prefix);
  connection.disconnect();
});

describe('ResultCleaner', () => {
  it('removes completed jobs past RESULT_TTL and failed jobs past FAILED_TTL, not younger ones', async () => {
    const worker = new Worker(
      queueNames.detect,
      async (job) => {
        if (job.data.fail) throw new UnrecoverableError('invalid_image: test');
        return { ok: true };
      },
      { connection, prefix: keys.bullPrefix },
    );
    const data = { blobKey: 'x', format: 'jpeg' as const, bytes: 1, submittedAt: Date.now() };
    await queue.add('detect', data, { jobId: 'done' });
    await queue.add('detect', { ...data, fail: true } as typeof data, { jobId: 'bad' });
    while ((await queue.getCompletedCount()) + (await queue.getFailedCount()) < 2) await new Promise((r) => setTimeout(r, 20));
    await worker.close();

    const cleaner = new ResultCleaner(queue, { resultTtlSeconds: 1, failedTtlSeconds: 2 }, createLogger({ level: 'silent', name: 'cleaner-test' }));
    await cleaner.clean();
    expect(await queue.getJobState('done')).toBe('completed'); // younger than its TTL
    await new Promise((r) => setTimeout(r, 1200));
    await cleaner.clean();
    // No later job finished: BullMQ's own age-based removal never ran, the cleaner did.
    expect(await queue.getJobState('done')).toBe('unknown');
    expect(await queue.getJobState('bad')).toBe('failed');
    await new Promise((r) => setTimeout(r, 1000));
    await cleaner.clean();
    expect(await queue.getJobState('bad')).toBe('unknown');
    expect(cleaner.everyMs).toBe(1000);
  });
});
