import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectJobReturn, Detection } from '@maskq/shared';
import { fixturesDir } from '../../../test-support/paths.js';
import { deleteKeysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { TestQueue, WorkerChild, loadFixtures } from './support/worker-harness.js';

interface Golden {
  images: Record<string, { width: number; height: number; detections: Detection[] }>;
}
const golden = JSON.parse(readFileSync(join(fixturesDir, 'golden.json'), 'utf8')) as Golden;

function iou(a: Detection['box'], b: Detection['box']): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

describe('worker process: fixtures through the queue', () => {
  const prefix = uniquePrefix('wgold');
  const tq = new TestQueue(prefix);
  let worker: WorkerChild;
  let opsPort: number;

  beforeAll(async () => {
    worker = new WorkerChild({ QUEUE_PREFIX: prefix, BATCH_MAX_SIZE: '8' });
    ({ opsPort } = await worker.ready());
  });

  afterAll(async () => {
    await worker?.dispose();
    await deleteKeysUnder(tq.redis, prefix);
    await tq.close();
  });

  it('serves /health, /ready and /metrics on the ops port', async () => {
    const health = await fetch(`http://127.0.0.1:${opsPort}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${opsPort}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const metrics = await fetch(`http://127.0.0.1:${opsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('maskq_process_cpu_seconds_total');
    expect((await fetch(`http://127.0.0.1:${opsPort}/nope`)).status).toBe(404);
  });

  it('answers every fixture image like the reference model', async () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBe(Object.keys(golden.images).length);
    const ids = await tq.enqueue(fixtures);
    await tq.waitFinished(ids.length, 100_000);

    for (const [i, fixture] of fixtures.entries()) {
      const job = await tq.queue.getJob(ids[i]!);
      expect(await job!.getState(), `${fixture.name}: ${job!.failedReason}`).toBe('completed');
      const value = job!.returnvalue as DetectJobReturn;
      const expected = golden.images[fixture.name]!;
      expect(value.model).toEqual({ name: 'aizoo-face-mask', version: '1.0.0' });
      expect(value.batchSize).toBeGreaterThanOrEqual(1);
      expect([value.result.width, value.result.height], fixture.name).toEqual([expected.width, expected.height]);
      expect(value.result.detections.length, fixture.name).toBe(expected.detections.length);
      const unmatched = [...value.result.detections];
      for (const want of expected.detections) {
        const best = unmatched
          .filter((d) => d.label === want.label)
          .map((d) => ({ d, overlap: iou(d.box, want.box) }))
          .sort((a, b) => b.overlap - a.overlap)[0];
        expect(best, `${fixture.name}: no ${want.label} detection`).toBeDefined();
        expect(best!.overlap, `${fixture.name}: IoU`).toBeGreaterThanOrEqual(0.85);
        expect(Math.abs(best!.d.score - want.score), `${fixture.name}: score`).toBeLessThanOrEqual(0.05);
        unmatched.splice(unmatched.indexOf(best!.d), 1);
      }
    }

    // One line per batch, with the timings and without image data.
    const batches = worker.batches();
    expect(batches.reduce((n, b) => n + (b.completed as number), 0)).toBe(fixtures.length);
    for (const b of batches) {
      expect(b).toMatchObject({ batchSize: expect.any(Number), preprocessMs: expect.any(Number), inferenceMs: expect.any(Number) });
      expect(b.batchSize as number).toBeLessThanOrEqual(8);
    }
    // Finished jobs leave no image bytes behind.
    expect(await tq.blobKeysLeft()).toEqual([]);
  }, 120_000);
});
