import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { createMetricsRegistry, createQueueMetrics, type Registry } from '@maskq/shared';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const prefix = uniquePrefix('qmetrics');
const bullPrefix = `{${prefix}}`;
const redis = new Redis(testRedisUrl);
const connection = { url: testRedisUrl };
const detect = new Queue('detect', { connection, prefix: bullPrefix });
const webhooks = new Queue('webhooks', { connection, prefix: bullPrefix });

afterAll(async () => {
  await Promise.all([detect.close(), webhooks.close()]);
  await deleteKeysUnder(redis, prefix);
  redis.disconnect();
});

async function gauges(registry: Registry): Promise<Map<string, number>> {
  const all = await registry.getMetricsAsJSON();
  const jobs = all.find((m) => m.name === 'maskq_queue_jobs');
  return new Map((jobs?.values ?? []).map((v) => [`${v.labels.queue}/${v.labels.state}`, v.value]));
}

describe('queue depth gauges', () => {
  it('match BullMQ getJobCounts for waiting, delayed, failed, completed and prioritized jobs', async () => {
    // detect: 2 will fail, 1 complete (taken by a real worker), then 3 waiting, 2 delayed, 1 prioritized
    await detect.addBulk([
      { name: 'fail', data: { n: 1 } },
      { name: 'fail', data: { n: 2 } },
      { name: 'ok', data: { n: 3 } },
    ]);
    let handled = 0;
    const worker = new Worker(
      'detect',
      async (job) => {
        handled += 1;
        if (job.name === 'fail') throw new Error('invalid_image: nope');
        return { ok: true };
      },
      { connection, prefix: bullPrefix, concurrency: 3 },
    );
    await new Promise<void>((resolve) => {
      const check = () => (handled >= 3 ? resolve() : setTimeout(check, 20));
      check();
    });
    await worker.close();
    await detect.addBulk([1, 2, 3].map((n) => ({ name: 'wait', data: { n } })));
    await detect.add('later', {}, { delay: 60_000 });
    await detect.add('later', {}, { delay: 120_000 });
    await detect.add('vip', {}, { priority: 1 });
    await webhooks.add('deliver', {});

    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    createQueueMetrics(registry, { queues: [detect, webhooks] });
    const got = await gauges(registry);

    for (const queue of [detect, webhooks]) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'completed');
      for (const [state, count] of Object.entries(counts)) expect(got.get(`${queue.name}/${state}`), `${queue.name}/${state}`).toBe(count);
    }
    expect(got.get('detect/waiting')).toBe(3);
    expect(got.get('detect/delayed')).toBe(2);
    expect(got.get('detect/failed')).toBe(2);
    expect(got.get('detect/completed')).toBe(1);
    expect(got.get('detect/prioritized')).toBe(1);
    expect(got.get('webhooks/waiting')).toBe(1);

    // read on scrape: new jobs show without any timer
    await detect.add('wait', { n: 4 });
    expect((await gauges(registry)).get('detect/waiting')).toBe(4);
  });

  it('keeps the scrape alive when a queue cannot be read, and counts the error', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const errors: string[] = [];
    const broken = { name: 'broken', getJobCounts: () => Promise.reject(new Error('Connection is closed.')) };
    createQueueMetrics(registry, { queues: [webhooks, broken], onError: (_err, queue) => errors.push(queue) });
    const text = await registry.metrics();
    expect(text).toMatch(/^maskq_queue_jobs\{queue="webhooks",state="waiting",service="api"\} 1$/m);
    expect(text).not.toMatch(/queue="broken",state=/);
    expect(text).toMatch(/^maskq_queue_scrape_errors_total\{queue="broken",service="api"\} 1$/m);
    expect(errors).toEqual(['broken']);
  });
});

describe('queue depth scrape cost', () => {
  it('reads each queue once per scrape', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    let calls = 0;
    const counted = {
      name: 'counted',
      getJobCounts: (...types: string[]) => {
        calls += 1;
        return webhooks.getJobCounts(...(types as Parameters<typeof webhooks.getJobCounts>));
      },
    };
    createQueueMetrics(registry, { queues: [counted] });
    await registry.metrics();
    expect(calls).toBe(1);
    await registry.getMetricsAsJSON();
    expect(calls).toBe(2);
  });
});
