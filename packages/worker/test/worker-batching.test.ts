import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DetectJobReturn } from '@maskq/shared';
import { deleteKeysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { TestQueue, WorkerChild, loadFixtures, type Fixture } from './support/worker-harness.js';

const fixtures = loadFixtures();
const small = fixtures.filter((f) => !f.name.startsWith('scene_'));
const pick = (n: number): Fixture[] => Array.from({ length: n }, (_, i) => small[i % small.length]!);

/** JPEG magic bytes and a JFIF header start, then noise: passes the format sniff, cannot decode. */
const corruptJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), randomBytes(4000)]);

describe('worker process: batching and per-job failures', () => {
  const queues: TestQueue[] = [];
  const workers: WorkerChild[] = [];

  const setup = (env: Record<string, string>) => {
    const prefix = uniquePrefix('wbatch');
    const tq = new TestQueue(prefix);
    queues.push(tq);
    const start = () => {
      const worker = new WorkerChild({ QUEUE_PREFIX: prefix, ...env });
      workers.push(worker);
      return worker;
    };
    return { prefix, tq, start };
  };

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.dispose()));
  });
  afterAll(async () => {
    for (const tq of queues) {
      await deleteKeysUnder(tq.redis, tq.prefix);
      await tq.close();
    }
  });

  it('forms batches larger than one and never larger than BATCH_MAX_SIZE', async () => {
    const { tq, start } = setup({ BATCH_MAX_SIZE: '8' });
    const ids = await tq.enqueue(pick(40));
    const worker = start();
    await worker.ready();
    await tq.waitFinished(ids.length, 100_000);

    const sizes: number[] = [];
    for (const id of ids) {
      const job = await tq.queue.getJob(id);
      expect(await job!.getState()).toBe('completed');
      sizes.push((job!.returnvalue as DetectJobReturn).batchSize);
    }
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    // One inference per batch: the batch log lines account for every job exactly once.
    const batches = worker.batches();
    expect(batches.reduce((n, b) => n + (b.completed as number), 0)).toBe(40);
    expect(batches.length).toBeLessThan(40);
    expect(await tq.blobKeysLeft()).toEqual([]);
  }, 120_000);

  it('fails a corrupt image alone with invalid_image after one attempt; the rest of its batch completes', async () => {
    const { tq, start } = setup({ BATCH_MAX_SIZE: '8', BATCH_MAX_WAIT_MS: '200', JOB_ATTEMPTS: '3' });
    const good = pick(7);
    const ids = await tq.enqueue([...good.slice(0, 3), { bytes: corruptJpeg, format: 'jpeg' }, ...good.slice(3)]);
    const badId = ids[3]!;
    const worker = start();
    await worker.ready();
    await tq.waitFinished(ids.length, 100_000);

    const bad = await tq.queue.getJob(badId);
    expect(await bad!.getState()).toBe('failed');
    expect(bad!.failedReason).toMatch(/^invalid_image: /);
    expect(bad!.attemptsMade).toBe(1);
    for (const id of ids.filter((id) => id !== badId)) {
      const job = await tq.queue.getJob(id);
      expect(await job!.getState()).toBe('completed');
      // All eight were waiting when the worker started: the bad image shared their batch.
      expect((job!.returnvalue as DetectJobReturn).batchSize).toBe(8);
    }
    expect(await tq.blobKeysLeft()).toEqual([]);
  }, 120_000);

  it('fails a job whose deadline passed with expired, without inference or retry', async () => {
    const { tq, start } = setup({ JOB_ATTEMPTS: '3' });
    const worker = start();
    await worker.ready();
    const [id] = await tq.enqueue([{ ...small[0]!, deadline: Date.now() - 1000 }]);
    await tq.waitFinished(1);

    const job = await tq.queue.getJob(id!);
    expect(await job!.getState()).toBe('failed');
    expect(job!.failedReason).toMatch(/^expired: /);
    expect(job!.attemptsMade).toBe(1);
    expect(job!.returnvalue).toBeFalsy();
    await worker.waitForLog((l) => l.msg === 'job failed' && l.jobId === id);
    // The batch is reported (one line per batch), but it never reached preprocessing or inference.
    const batch = await worker.waitForLog((l) => l.msg === 'batch done');
    expect(batch).toMatchObject({ collected: 1, completed: 0, failed: 1, batchSize: 0 });
    expect(worker.batches().filter((b) => b.inferenceMs !== undefined || b.preprocessMs !== undefined)).toEqual([]);
    expect(await tq.blobKeysLeft()).toEqual([]);
  }, 120_000);

  it('fails a job whose image blob is gone with expired, without retry', async () => {
    const { tq, start } = setup({ JOB_ATTEMPTS: '3' });
    const [id] = await tq.enqueue([small[0]!]);
    await tq.redis.del(tq.blobStore.keyFor(id!));
    const worker = start();
    await worker.ready();
    await tq.waitFinished(1);
    const job = await tq.queue.getJob(id!);
    expect(await job!.getState()).toBe('failed');
    expect(job!.failedReason).toMatch(/^expired: /);
    expect(job!.attemptsMade).toBe(1);
    expect(await tq.blobKeysLeft()).toEqual([]);
  }, 120_000);
});
