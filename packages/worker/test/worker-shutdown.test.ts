import { QueueEvents } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createKeys, createRedis, queueNames } from '@maskq/shared';
import { deleteKeysUnder, keysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { TestQueue, WorkerChild, loadFixtures } from './support/worker-harness.js';

const small = loadFixtures().filter((f) => !f.name.startsWith('scene_'));
const pick = (n: number) => Array.from({ length: n }, (_, i) => small[i % small.length]!);

/** Counts `completed` events per job id, from BullMQ's event stream. */
async function trackCompletions(tq: TestQueue) {
  const connection = createRedis(tq.config, { blocking: true });
  const events = new QueueEvents(queueNames.detect, { connection, prefix: createKeys(tq.prefix).bullPrefix, lastEventId: '0' });
  await events.waitUntilReady();
  const completed = new Map<string, number>();
  const failed: string[] = [];
  let onCompleted: (() => void) | undefined;
  events.on('completed', ({ jobId }) => {
    completed.set(jobId, (completed.get(jobId) ?? 0) + 1);
    onCompleted?.();
  });
  events.on('failed', ({ jobId }) => failed.push(jobId));
  const stalled: string[] = [];
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  return {
    completed,
    failed,
    stalled,
    firstCompletion: new Promise<void>((resolve) => (onCompleted = resolve)),
    close: async () => {
      await events.close();
      connection.disconnect();
    },
  };
}

describe('worker process: crashes and shutdown', () => {
  const queues: TestQueue[] = [];
  const workers: WorkerChild[] = [];
  const closers: Array<() => Promise<void>> = [];
  const start = (prefix: string, env: Record<string, string>) => {
    const worker = new WorkerChild({ QUEUE_PREFIX: prefix, ...env });
    workers.push(worker);
    return worker;
  };

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.dispose()));
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  afterAll(async () => {
    for (const tq of queues) {
      await deleteKeysUnder(tq.redis, tq.prefix);
      await tq.close();
    }
  });

  it('a worker killed with SIGKILL mid-batch loses no job, and no job completes twice', async () => {
    const prefix = uniquePrefix('wkill');
    const tq = new TestQueue(prefix);
    queues.push(tq);
    const tracker = await trackCompletions(tq);
    closers.push(tracker.close);
    // Short locks so the stalled checker of the survivor recovers the dead worker's jobs quickly.
    const env = { BATCH_MAX_SIZE: '8', LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '2000' };
    const ids = await tq.enqueue(pick(60));

    const doomed = start(prefix, env);
    await doomed.ready();
    await tracker.firstCompletion;
    doomed.kill('SIGKILL');
    await doomed.exited;
    // It held jobs when it died (the batch in flight and the one being prepared).
    const orphaned = await tq.queue.getActiveCount();
    expect(orphaned).toBeGreaterThan(0);
    // Jobs the killed worker completed: it may have died between completing them and deleting
    // their blobs (two separate Redis calls), which leaves those blobs to their TTL.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const completedByDoomed = new Set([...tracker.completed.keys()].map((id) => tq.blobStore.keyFor(id)));

    const survivor = start(prefix, env);
    await survivor.ready();
    await tq.waitFinished(ids.length, 120_000);

    const counts = await tq.queue.getJobCounts('completed', 'failed', 'active', 'waiting');
    expect(counts).toMatchObject({ completed: 60, failed: 0, active: 0, waiting: 0 });
    // Events may trail the state change a little.
    for (let i = 0; i < 50 && tracker.completed.size < 60; i++) await new Promise((r) => setTimeout(r, 100));
    expect([...tracker.completed.keys()].sort()).toEqual([...ids].sort());
    expect([...tracker.completed.values()].every((n) => n === 1)).toBe(true);
    expect(tracker.failed).toEqual([]);
    expect(await tq.blobKeysLeft((key) => completedByDoomed.has(key))).toEqual([]);
  }, 150_000);

  it('keeps the locks of held jobs alive while a batch takes longer than LOCK_DURATION_MS', async () => {
    const prefix = uniquePrefix('wlock');
    const tq = new TestQueue(prefix);
    queues.push(tq);
    const tracker = await trackCompletions(tq);
    closers.push(tracker.close);
    const scenes = loadFixtures().filter((f) => f.name.startsWith('scene_'));
    const ids = await tq.enqueue(Array.from({ length: 128 }, (_, i) => scenes[i % scenes.length]!));

    // Big batches of camera frames on one inference thread hold each job well past the 2 s lock
    // (a prepared batch waits for the one in flight). 2 s leaves a loaded machine room to renew.
    const worker = start(prefix, { BATCH_MAX_SIZE: '64', LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', INTRA_OP_THREADS: '1' });
    await worker.ready();
    await tq.waitFinished(ids.length, 180_000);

    const held: number[] = [];
    for (const id of ids) {
      const job = await tq.queue.getJob(id);
      expect(await job!.getState()).toBe('completed');
      held.push(job!.finishedOn! - job!.processedOn!);
    }
    expect(Math.max(...held)).toBeGreaterThan(2000); // the premise: jobs were held longer than their lock
    expect(tracker.stalled).toEqual([]);
    expect(tracker.failed).toEqual([]);
  }, 200_000);

  it('SIGTERM mid-batch: the batch in hand completes, the process exits 0, the rest stays waiting', async () => {
    const prefix = uniquePrefix('wterm');
    const tq = new TestQueue(prefix);
    queues.push(tq);
    const tracker = await trackCompletions(tq);
    closers.push(tracker.close);
    const ids = await tq.enqueue(pick(120));

    const worker = start(prefix, { BATCH_MAX_SIZE: '4' });
    await worker.ready();
    await tracker.firstCompletion;
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    const counts = await tq.queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
    expect(counts.active).toBe(0); // nothing left locked by the stopped worker
    expect(counts.failed).toBe(0);
    expect(counts.delayed).toBe(0);
    expect(counts.completed).toBeGreaterThan(0);
    expect(counts.waiting).toBeGreaterThan(0);
    expect(counts.completed! + counts.waiting!).toBe(ids.length);
    expect(worker.lines.some((l) => l.msg === 'worker stopped')).toBe(true);
    // Blobs of completed jobs are gone, those of waiting jobs are still there for the next worker.
    const blobs = (await keysUnder(tq.redis, prefix)).filter((k) => k.includes(':blob:'));
    expect(blobs.length).toBe(counts.waiting);
  }, 120_000);
});
