import { afterAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '@maskq/shared';
import { deleteKeysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { TestQueue, WorkerChild } from './support/worker-harness.js';

describe('worker process: WORKER_ROLE', () => {
  const prefix = uniquePrefix('roles');
  const tq = new TestQueue(prefix);
  const children: WorkerChild[] = [];
  const spawn = (env: Record<string, string>) => {
    const child = new WorkerChild({ QUEUE_PREFIX: prefix, ...env });
    children.push(child);
    return child;
  };

  afterAll(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    await deleteKeysUnder(tq.redis, prefix);
    await tq.close();
  });

  it('webhooks: runs only the dispatcher (no model, no detect jobs taken) and stops cleanly', async () => {
    const child = spawn({ WORKER_ROLE: 'webhooks', WEBHOOK_SECRET: generateWebhookSecret() });
    const { opsPort } = await child.ready();
    expect(child.lines.some((l) => l.msg === 'webhook dispatcher running')).toBe(true);
    expect(child.lines.some((l) => l.msg === 'detection running')).toBe(false);
    const scrape = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(scrape).toMatch(/maskq_webhook_deliveries_total\{outcome="delivered",service="webhooks"\} 0/);
    expect(scrape).not.toContain('maskq_jobs_completed_total');

    const [id] = await tq.enqueue([{ bytes: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), format: 'jpeg' }]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await (await tq.queue.getJob(id!))!.getState()).toBe('waiting');

    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });

  it('webhooks without WEBHOOK_SECRET: refuses to start', async () => {
    const child = spawn({ WORKER_ROLE: 'webhooks' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(/WORKER_ROLE=webhooks needs WEBHOOK_SECRET/);
  });

  it('detect: no dispatcher even with a secret; all without a secret: detection only', async () => {
    const detect = spawn({ WORKER_ROLE: 'detect', WEBHOOK_SECRET: generateWebhookSecret() });
    const all = spawn({});
    const [{ opsPort }] = await Promise.all([detect.ready(), all.ready()]);
    for (const child of [detect, all]) {
      expect(child.lines.some((l) => l.msg === 'detection running')).toBe(true);
      expect(child.lines.some((l) => l.msg === 'webhook dispatcher running')).toBe(false);
    }
    const scrape = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    expect(scrape).toContain('maskq_jobs_completed_total{service="worker"} 0');
    expect(scrape).not.toContain('maskq_webhook_deliveries_total');
  });
});
