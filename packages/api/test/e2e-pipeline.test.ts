import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiMetrics, generateWebhookSecret, jobResourceSchema, verifyWebhook, type Detection, type JobResource } from '@maskq/shared';
import { fixturesDir, fixtureImagesDir, repoRoot } from '../../../test-support/paths.js';
import { deleteKeysUnder, keysUnder, uniquePrefix } from '../../../test-support/redis.js';
import { offColourPoints } from '../../worker/test/support/box-pixels.js';
import { TestQueue, WorkerChild, apiPackageDir, loadFixtures } from '../../worker/test/support/worker-harness.js';
import { form, readSse, type SseEvent } from './harness.js';

/**
 * The whole pipeline with the real processes: the API (`packages/api/src/main.ts`)
 * and a worker (`packages/worker/src/main.ts`, detection + webhook dispatcher)
 * as child processes on one test queue prefix, real Redis, the real model.
 */

interface Golden {
  images: Record<string, { width: number; height: number; detections: Detection[] }>;
}
const golden = JSON.parse(readFileSync(join(fixturesDir, 'golden.json'), 'utf8')) as Golden;
const fixtureBytes = (name: string) => readFileSync(join(fixtureImagesDir, name));
const corruptJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), randomBytes(4000)]);

function iou(a: Detection['box'], b: Detection['box']): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** What differs from the reference answer (empty = matches: labels, count, IoU ≥ 0.85, score ± 0.05). */
function goldenMismatches(name: string, result: NonNullable<JobResource['result']>): string[] {
  const expected = golden.images[name]!;
  const problems: string[] = [];
  if (result.width !== expected.width || result.height !== expected.height) problems.push(`${name}: size ${result.width}x${result.height}`);
  if (result.detections.length !== expected.detections.length) problems.push(`${name}: ${result.detections.length} detections, want ${expected.detections.length}`);
  const unmatched = [...result.detections];
  for (const want of expected.detections) {
    const best = unmatched
      .filter((d) => d.label === want.label)
      .map((d) => ({ d, overlap: iou(d.box, want.box) }))
      .sort((a, b) => b.overlap - a.overlap)[0];
    if (!best) {
      problems.push(`${name}: no ${want.label}`);
      continue;
    }
    if (best.overlap < 0.85) problems.push(`${name}: IoU ${best.overlap.toFixed(3)}`);
    if (Math.abs(best.d.score - want.score) > 0.05) problems.push(`${name}: score ${best.d.score} vs ${want.score}`);
    unmatched.splice(unmatched.indexOf(best.d), 1);
  }
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const prefix = uniquePrefix('e2e');
const secret = generateWebhookSecret();
const tq = new TestQueue(prefix);
const deliveries: Delivery[] = [];
let receiver: Server;
let receiverUrl: string;
let api: WorkerChild;
let worker: WorkerChild;
let apiUrl: string;
let workerOps: string;

async function submit(name: string, bytes: Buffer = fixtureBytes(name)): Promise<string> {
  const res = await fetch(`${apiUrl}/v1/jobs`, { method: 'POST', body: form([['image', bytes, name]]) });
  expect(res.status, name).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function poll(id: string, timeoutMs = 60_000): Promise<JobResource> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${apiUrl}/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    const resource = jobResourceSchema.parse(await res.json());
    if (resource.status !== 'queued' && resource.status !== 'processing') return resource;
    if (Date.now() > until) throw new Error(`job ${id} still ${resource.status}`);
    await sleep(50);
  }
}

async function waitForDeliveries(path: string, count: number, timeoutMs = 20_000): Promise<Delivery[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = deliveries.filter((d) => d.path === path);
    if (found.length >= count) return found;
    if (Date.now() > until) throw new Error(`${found.length} deliveries to ${path}, want ${count}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  // A webhook receiver: /flaky answers 503 to its first delivery, everything else 204.
  const flakyIds = new Set<string>();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      deliveries.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      const id = String(req.headers['webhook-id']);
      if (path === '/flaky' && !flakyIds.has(id)) {
        flakyIds.add(id);
        res.writeHead(503).end();
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const env = { QUEUE_PREFIX: prefix, WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: 'true' };
  api = new WorkerChild({ ...env, PORT: '0', HOST: '127.0.0.1', SYNC_TIMEOUT_MS: '30000' }, apiPackageDir);
  worker = new WorkerChild({ ...env, BATCH_MAX_SIZE: '8', BATCH_MAX_WAIT_MS: '20', WEBHOOK_BACKOFF_BASE_MS: '50', JOB_ATTEMPTS: '2' });
  const [listening, { opsPort }] = await Promise.all([api.waitForLog((l) => l.msg === 'maskq api listening', 60_000), worker.ready()]);
  apiUrl = listening.url as string;
  workerOps = `http://127.0.0.1:${opsPort}`;
}, 90_000);

afterAll(async () => {
  await Promise.all([api?.dispose(), worker?.dispose()]);
  await new Promise((resolve) => receiver?.close(resolve));
  await deleteKeysUnder(tq.redis, prefix);
  await tq.close();
});

describe('end to end: real API and worker processes', () => {
  it('answers every fixture submitted with POST /v1/jobs like the reference model', async () => {
    const fixtures = loadFixtures();
    expect(fixtures.length).toBe(Object.keys(golden.images).length);
    const ids = await Promise.all(fixtures.map((f) => submit(f.name, Buffer.from(f.bytes))));
    const resources = await Promise.all(ids.map((id) => poll(id, 80_000)));
    const problems: string[] = [];
    resources.forEach((resource, i) => {
      const name = fixtures[i]!.name;
      if (resource.status !== 'completed') problems.push(`${name}: ${resource.status} ${JSON.stringify(resource.error)}`);
      else problems.push(...goldenMismatches(name, resource.result!));
    });
    expect(problems).toEqual([]);
    expect(resources[0]!.model).toEqual({ name: 'aizoo-face-mask', version: '1.0.0' });
    expect(resources[0]!.timings?.total_ms).toBeGreaterThan(0);
  }, 90_000);

  it('takes a batch upload; a file that is not an image is refused alone', async () => {
    const body = form([
      ['images', fixtureBytes('mask_02.jpg'), 'mask_02.jpg'],
      ['images', Buffer.from('not an image at all'), 'notes.txt'],
      ['images', fixtureBytes('nomask_03.jpg'), 'nomask_03.jpg'],
    ]);
    const res = await fetch(`${apiUrl}/v1/jobs/batch`, { method: 'POST', body });
    expect(res.status).toBe(202);
    const { jobs } = (await res.json()) as { jobs: Array<{ index: number; id?: string; error?: { code: string } }> };
    expect(jobs.map((j) => j.index)).toEqual([0, 1, 2]);
    expect(jobs[1]!.error?.code).toBe('unsupported_format');
    const [a, c] = await Promise.all([poll(jobs[0]!.id!), poll(jobs[2]!.id!)]);
    expect(goldenMismatches('mask_02.jpg', a.result!)).toEqual([]);
    expect(goldenMismatches('nomask_03.jpg', c.result!)).toEqual([]);
  });

  it('answers POST /v1/detect synchronously, and 504 with the id when timeout_ms runs out; that job completes later', async () => {
    const res = await fetch(`${apiUrl}/v1/detect`, { method: 'POST', body: form([['file', fixtureBytes('nomask_05.jpg'), 'a.jpg']]) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; result: NonNullable<JobResource['result']> };
    expect(body.success).toBe(true);
    expect(goldenMismatches('nomask_05.jpg', body.result)).toEqual([]);

    const slow = await fetch(`${apiUrl}/v1/detect?timeout_ms=1`, { method: 'POST', body: form([['file', fixtureBytes('scene_5faces_1920x1080.jpg'), 'b.jpg']]) });
    expect(slow.status).toBe(504);
    const timedOut = (await slow.json()) as { id: string; error: { code: string } };
    expect(timedOut.error.code).toBe('timeout');
    const later = await poll(timedOut.id);
    expect(later.status).toBe('completed');
    expect(goldenMismatches('scene_5faces_1920x1080.jpg', later.result!)).toEqual([]);
  });

  it('fails an image with valid magic bytes but corrupt data as invalid_image', async () => {
    const id = await submit('corrupt.jpg', corruptJpeg);
    const resource = await poll(id);
    expect(resource.status).toBe('failed');
    expect(resource.error?.code).toBe('invalid_image');
    expect(resource.result).toBeUndefined();
  });

  it('streams queued → processing → completed over SSE', async () => {
    // Paused, the worker takes nothing: the stream must open on `queued`.
    await tq.queue.pause();
    let id: string;
    try {
      id = await submit('mask_04.jpg');
    } catch (err) {
      await tq.queue.resume();
      throw err;
    }
    const seen: SseEvent[] = [];
    const stream = readSse(`${apiUrl}/v1/jobs/${id}/events`, (event) => {
      seen.push(event);
      if (seen.length === 1) void tq.queue.resume();
    });
    const { status, events } = await Promise.race([
      stream,
      sleep(30_000).then(() => {
        throw new Error(`SSE did not end: ${JSON.stringify(seen)}`);
      }),
    ]);
    await tq.queue.resume();
    expect(status).toBe(200);
    expect(events.map((e) => e.event)).toEqual(['queued', 'processing', 'completed']);
    const last = jobResourceSchema.parse(JSON.parse(events[2]!.data));
    expect(goldenMismatches('mask_04.jpg', last.result!)).toEqual([]);
  });

  it('delivers signed webhooks for completed and failed jobs; a 503 is retried with the same webhook-id', async () => {
    // One through the API's callback_url field (the request id follows it into the webhook's logs) ...
    const submitted = await fetch(`${apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'x-request-id': 'req-e2e-1' },
      body: form([
        ['image', fixtureBytes('nomask_02.jpg'), 'nomask_02.jpg'],
        ['callback_url', `${receiverUrl}/hooks`],
        ['callback_events', 'completed,failed'],
      ]),
    });
    expect(submitted.status).toBe(202);
    const okId = ((await submitted.json()) as { id: string }).id;
    expect((await tq.queue.getJob(okId))!.data).toMatchObject({ callback: { url: `${receiverUrl}/hooks` }, requestId: 'req-e2e-1' });
    // ... the others straight onto the queue, as the API writes them.
    const [badId, flakyId] = await tq.enqueue([
      { bytes: corruptJpeg, format: 'jpeg', data: { callback: { url: `${receiverUrl}/hooks-failed`, events: ['failed'] }, requestId: 'req-e2e-2' } },
      { bytes: fixtureBytes('mask_05.jpg'), format: 'jpeg', data: { callback: { url: `${receiverUrl}/flaky`, events: ['completed'] } } },
    ]);

    const [ok] = await waitForDeliveries('/hooks', 1);
    const okJob = verifyWebhook(secret, ok!.headers, ok!.body);
    expect(okJob).toMatchObject({ id: okId, status: 'completed', webhook: { status: 'pending', attempts: 1 } });
    expect(goldenMismatches('nomask_02.jpg', okJob.result!)).toEqual([]);
    expect(ok!.headers['user-agent']).toMatch(/^maskq-webhooks\//);

    const [bad] = await waitForDeliveries('/hooks-failed', 1);
    expect(verifyWebhook(secret, bad!.headers, bad!.body)).toMatchObject({ id: badId, status: 'failed', error: { code: 'invalid_image' } });
    expect(() => verifyWebhook(generateWebhookSecret(), bad!.headers, bad!.body)).toThrow(/signature/);

    const flaky = await waitForDeliveries('/flaky', 2);
    expect(flaky[0]!.headers['webhook-id']).toBe(flaky[1]!.headers['webhook-id']);
    const retried = verifyWebhook(secret, flaky[1]!.headers, flaky[1]!.body);
    expect(retried).toMatchObject({ id: flakyId, status: 'completed', webhook: { attempts: 2, last_status: 503 } });

    // Enqueued before the detect job was marked finished (a crash in between cannot lose it).
    const webhooksQueue = new Queue('webhooks', { connection: tq.redis, prefix: `{${prefix}}` });
    try {
      for (const [id, event] of [[okId, 'completed'], [badId, 'failed']] as const) {
        const [hook, detect] = await Promise.all([webhooksQueue.getJob(`${id}.${event}`), tq.queue.getJob(id!)]);
        expect(hook!.timestamp).toBeLessThanOrEqual(detect!.finishedOn!);
      }
    } finally {
      await webhooksQueue.close();
    }

    // The worker's failure line carries the request id the image came in with.
    const failLine = worker.lines.find((l) => l.msg === 'job failed' && l.jobId === badId);
    expect(failLine).toMatchObject({ code: 'invalid_image', outcome: 'failed', requestId: 'req-e2e-2' });
    // Exactly one delivery per event and job (plus the one retry).
    await sleep(300);
    expect(deliveries.map((d) => d.path).sort()).toEqual(['/flaky', '/flaky', '/hooks', '/hooks-failed']);
  });

  it('serves the annotated image of an annotate=true job, and 404 for a job without one', async () => {
    const name = 'scene_4faces_1280x720.jpg';
    const [annotatedId, plainId] = await tq.enqueue([
      { bytes: fixtureBytes(name), format: 'jpeg', data: { annotate: true } },
      { bytes: fixtureBytes('mask_03.jpg'), format: 'jpeg' },
    ]);
    const resource = await poll(annotatedId!);
    expect(resource.status).toBe('completed');
    expect(resource.links?.annotated).toBe(`/v1/jobs/${annotatedId}/annotated.jpg`);
    expect(new Set(resource.result!.detections.map((d) => d.label))).toEqual(new Set(['mask', 'no_mask']));
    const res = await fetch(`${apiUrl}${resource.links!.annotated}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(await offColourPoints(jpeg, resource.result!.detections)).toEqual([]);
    // Stored with the result's TTL.
    const ttl = await tq.redis.ttl(`${prefix}:annotated:{${annotatedId}}`);
    expect(ttl).toBeGreaterThan(3600);

    const plain = await poll(plainId!);
    expect(plain.links?.annotated).toBeUndefined();
    const missing = await fetch(`${apiUrl}/v1/jobs/${plainId}/annotated.jpg`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${apiUrl}/v1/jobs/no-such-job/annotated.jpg`)).status).toBe(404);
  });

  it('worker /metrics counts every job and batch; no image blob is left; dashboard and alert metrics are served', async () => {
    // Every job is finished (nothing waiting or active) before counting.
    const until = Date.now() + 30_000;
    let counts: Record<string, number>;
    for (;;) {
      counts = await tq.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      if (counts.waiting! + counts.active! + counts.delayed! + counts.prioritized! === 0) break;
      if (Date.now() > until) throw new Error(JSON.stringify(counts));
      await sleep(100);
    }
    expect(await tq.blobKeysLeft()).toEqual([]);

    const workerScrape = await (await fetch(`${workerOps}/metrics`)).text();
    const value = (series: string): number => {
      const line = workerScrape.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series}{`));
      if (!line) throw new Error(`no ${series} in the worker scrape`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value('maskq_jobs_completed_total')).toBe(counts.completed);
    expect(value('maskq_batch_size_count')).toBe(worker.batches().length);
    expect(worker.batches().reduce((n, b) => n + (b.completed as number), 0)).toBe(counts.completed);
    expect(workerScrape).toMatch(/maskq_jobs_failed_total\{code="invalid_image",service="worker"\} 2\n/);
    expect(workerScrape).toMatch(/maskq_worker_info\{execution_provider="cpu",model_version="1.0.0",service="worker"\} 1/);
    expect(workerScrape).toMatch(/maskq_webhook_deliveries_total\{outcome="delivered",service="worker"\} 3\n/);
    expect(workerScrape).toMatch(/maskq_webhook_deliveries_total\{outcome="retry",service="worker"\} 1\n/);

    // Every metric the Grafana dashboard and the alert rules read is served by a real process:
    // API-module metrics by the API, the rest (worker, webhooks, process) by the worker.
    const exprs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, v] of Object.entries(node)) {
          if (key === 'expr' && typeof v === 'string') exprs.push(v);
          else walk(v);
        }
      }
    };
    walk(JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/dashboards/maskq.json'), 'utf8')));
    walk(parseYaml(readFileSync(join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8')));
    expect(exprs.length).toBeGreaterThan(20);
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bmaskq_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))));
    const served = (scrape: string) =>
      new Set(scrape.split('\n').flatMap((l) => /^(?:# TYPE )?(maskq_[a-z_0-9]+)[{ ]/.exec(l)?.[1]?.replace(/_(bucket|sum|count)$/, '') ?? []));
    const apiModule = new Registry();
    createApiMetrics(apiModule, { queues: [] });
    const apiNames = new Set(apiModule.getMetricsAsArray().map((m) => m.name));
    const workerServed = served(workerScrape);
    expect([...used].filter((n) => !apiNames.has(n) && !workerServed.has(n))).toEqual([]);
    expect(used.has('maskq_jobs_completed_total') && used.has('maskq_webhook_deliveries_total')).toBe(true);

    const apiMetrics = await fetch(`${apiUrl}/metrics`);
    expect(apiMetrics.status).toBe(200);
    const apiServed = served(await apiMetrics.text());
    expect([...used].filter((n) => apiNames.has(n) && !apiServed.has(n))).toEqual([]);
    // Nothing else of ours was left in Redis but BullMQ's and the results' keys.
    expect((await keysUnder(tq.redis, prefix)).filter((k) => k.includes(':blob:'))).toEqual([]);
  }, 60_000);
});
