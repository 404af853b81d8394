import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys, createLogger, queueNames, type DetectJob } from '@maskq/shared';
import { deleteKeysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { jobFailure } from '../src/errors/job-failure.js';
import { JobPublisher } from '../src/publish/job-publisher.js';
import { TestQueue, loadFixtures } from './support/worker-harness.js';

const image = loadFixtures()[0]!;

describe('JobPublisher (real BullMQ)', () => {
  const prefix = uniquePrefix('wpub');
  const tq = new TestQueue(prefix);
  let worker: Worker;
  const publisher = new JobPublisher(tq.blobStore, createLogger({ level: 'silent', name: 'test' }));
  const token = 'test-token';

  beforeAll(async () => {
    worker = new Worker(queueNames.detect, null, { connection: tq.redis, prefix: createKeys(prefix).bullPrefix, autorun: false });
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    await deleteKeysUnder(tq.redis, prefix);
    await tq.close();
  });

  const take = async (id: string): Promise<DetectJob> => {
    const job = (await worker.getNextJob(token, { block: false })) as DetectJob | undefined;
    expect(job?.id).toBe(id);
    return job!;
  };

  it('a transient failure is retried with the job backoff and keeps the image', async () => {
    const [id] = await tq.enqueue([image]);
    const job = await take(id!);
    expect(await publisher.fail(job, jobFailure('inference_failed', 'inference failed', true), token)).toBe('retrying');
    expect(await tq.queue.getJobState(id!)).toBe('delayed');
    expect(await tq.redis.exists(job.data.blobKey)).toBe(1);
    await tq.queue.remove(id!);
  });

  it('a transient failure on the last attempt fails for good and deletes the image', async () => {
    const [id] = await tq.enqueue([image]);
    const job = await take(id!);
    job.attemptsMade = (job.opts.attempts ?? 1) - 1;
    const outcome = await publisher.fail(job, jobFailure('inference_failed', 'inference failed', true), token);
    expect(outcome).toBe('failed');
    if (outcome === 'failed') await publisher.deleteBlobs([job]);
    expect(await tq.queue.getJobState(id!)).toBe('failed');
    expect(await tq.redis.exists(job.data.blobKey)).toBe(0);
  });

  it('a permanent failure is not retried, whatever attempts are left', async () => {
    const [id] = await tq.enqueue([image]);
    const job = await take(id!);
    expect(await publisher.fail(job, jobFailure('invalid_image', 'cannot decode', false), token)).toBe('failed');
    const stored = await tq.queue.getJob(id!);
    expect(await stored!.getState()).toBe('failed');
    expect(stored!.failedReason).toBe('invalid_image: cannot decode');
    expect(stored!.attemptsMade).toBe(1);
  });

  it('completing without fetchNext leaves the next waiting job untouched', async () => {
    const [first, second] = await tq.enqueue([image, image]);
    const job = await take(first!);
    const value = {
      result: { width: 1, height: 1, detections: [], summary: { faces: 0, masked: 0, unmasked: 0 } },
      model: { name: 'm', version: '1' },
      startedAt: Date.now(),
      finishedAt: Date.now(),
      inferenceMs: 1,
      batchSize: 1,
    };
    expect(await publisher.complete(job, value, token)).toBe(true);
    expect(await tq.queue.getJobState(second!)).toBe('waiting');
    // A lost lock (wrong token) is reported, not thrown.
    const next = await take(second!);
    expect(await publisher.complete(next, value, 'someone-else')).toBe(false);
  });
});
