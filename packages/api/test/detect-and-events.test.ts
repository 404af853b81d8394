import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { formatFailedReason, jobResourceSchema } from '@maskq/shared';
import { fakeReturn, fixture, form, readSse, sleep, startTestApi, startTestWorker, waitFor, type SseEvent, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('api-sync') });
});
afterAll(async () => {
  await api?.close();
});

const jpeg = fixture('mask_02.jpg');

describe('POST /v1/detect', () => {
  it('answers 200 with the result once a worker completes the job', async () => {
    const worker = startTestWorker(api, async (job) => {
      const [bytes] = await api.blobStore.getMany([job.data.blobKey]);
      if (!bytes?.equals(jpeg)) throw new Error('blob does not hold the uploaded bytes');
      await sleep(50);
      return fakeReturn({ startedAt: Date.now() - 30, finishedAt: Date.now() });
    });
    try {
      for (const field of ['file', 'image']) {
        const res = await fetch(`${api.url}/v1/detect`, { method: 'POST', body: form([[field, jpeg, 'a.jpg']]) });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { success: boolean; id: string; result: { summary: unknown }; processing_time: number };
        expect(body.success).toBe(true);
        expect(body.result.summary).toEqual({ faces: 1, masked: 1, unmasked: 0 });
        expect(body.processing_time).toBeGreaterThan(0.04);
        expect(body.processing_time).toBeLessThan(10);
        expect((await api.detectQueue.getJob(body.id))?.returnvalue).toBeTruthy();
      }
      const raw = await fetch(`${api.url}/v1/detect`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
      expect(raw.status).toBe(200);
      // Nobody is left waiting on the hub.
      expect(api.events.subscribedJobs).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('answers a failed job with its error code (invalid_image → 422)', async () => {
    const worker = startTestWorker(api, async () => {
      throw new UnrecoverableError(formatFailedReason('invalid_image', 'corrupt JPEG data'));
    });
    try {
      const res = await fetch(`${api.url}/v1/detect`, { method: 'POST', body: form([['file', jpeg, 'a.jpg']]) });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { success: boolean; id: string; error: { code: string; message: string } };
      expect(body).toMatchObject({ success: false, error: { code: 'invalid_image', message: 'corrupt JPEG data' } });
      expect(body.id).toBeDefined();
    } finally {
      await worker.close();
    }
  });

  it('times out with 504, the id and a link; the job is still there and can complete later', async () => {
    const started = Date.now();
    const res = await fetch(`${api.url}/v1/detect?timeout_ms=300`, { method: 'POST', body: form([['file', jpeg, 'a.jpg']]) });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const body = (await res.json()) as { success: boolean; id: string; error: { code: string }; links: { self: string } };
    expect(body).toMatchObject({ success: false, error: { code: 'timeout' }, links: { self: `/v1/jobs/${body.id}` } });
    const job = await api.detectQueue.getJob(body.id);
    expect(await job!.getState()).toBe('waiting');
    expect(await api.inspect.exists(job!.data.blobKey)).toBe(1);
    expect(api.events.subscribedJobs).toBe(0);

    const worker = startTestWorker(api, async () => fakeReturn());
    try {
      await waitFor(async () => (await (await api.detectQueue.getJob(body.id))!.getState()) === 'completed');
      const resource = jobResourceSchema.parse(await (await fetch(`${api.url}${body.links.self}`)).json());
      expect(resource.status).toBe('completed');
    } finally {
      await worker.close();
    }
  });
});

describe('JobEventsHub', () => {
  it('is live only once its reader delivered an event, and hands the completed result and the failed reason to the waiter', async () => {
    const own = await startTestApi({ prefix: uniquePrefix('api-hub') });
    const worker = startTestWorker(own, async (job) => {
      if (job.data.metadata?.fail) throw new UnrecoverableError(formatFailedReason('invalid_image', 'bad bytes'));
      return fakeReturn({ inferenceMs: 7.5 });
    });
    try {
      expect(own.events.live).toBe(false);
      const ok = own.events.waitForFinish('ok-1', 10_000);
      await own.detectQueue.add('detect', { blobKey: 'none', format: 'jpeg', bytes: 1, submittedAt: Date.now() }, { jobId: 'ok-1' });
      const done = await ok.finished;
      expect(done.outcome).toBe('completed');
      expect((done.event?.returnvalue as { inferenceMs: number }).inferenceMs).toBe(7.5);
      expect(own.events.live).toBe(true);

      const bad = own.events.waitForFinish('bad-1', 10_000);
      await own.detectQueue.add('detect', { blobKey: 'none', format: 'jpeg', bytes: 1, submittedAt: Date.now(), metadata: { fail: 'yes' } }, { jobId: 'bad-1' });
      const failed = await bad.finished;
      expect(failed.outcome).toBe('failed');
      expect(failed.event?.failedReason).toBe(formatFailedReason('invalid_image', 'bad bytes'));

      const never = own.events.waitForFinish('never', 50);
      expect(await never.finished).toEqual({ outcome: 'timeout' });
    } finally {
      await worker.close();
      await own.close();
    }
  });
});

describe('GET /v1/jobs/:id/events', () => {
  it('streams queued, then processing and completed with the result, then closes', async () => {
    const { id } = (await (await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) })).json()) as { id: string };
    let worker: ReturnType<typeof startTestWorker> | undefined;
    const seen: SseEvent[] = [];
    try {
      const stream = readSse(`${api.url}/v1/jobs/${id}/events`, (event) => {
        seen.push(event);
        // Start processing only once the stream showed the queued state.
        if (event.event === 'queued' && !worker) {
          worker = startTestWorker(api, async () => {
            await sleep(100);
            return fakeReturn();
          });
        }
      });
      const { status, events, contentType } = await stream;
      expect(status).toBe(200);
      expect(contentType).toMatch(/^text\/event-stream/);
      expect(events.map((e) => e.event)).toEqual(['queued', 'processing', 'completed']);
      const resources = events.map((e) => jobResourceSchema.parse(JSON.parse(e.data)));
      expect(resources.map((r) => r.status)).toEqual(['queued', 'processing', 'completed']);
      expect(resources.every((r) => r.id === id)).toBe(true);
      expect(resources[2]!.result?.summary.faces).toBe(1);
      expect(resources[2]!.model).toEqual({ name: 'face-mask', version: '1.0.0' });
      expect(resources[0]!.result).toBeUndefined();
      await waitFor(async () => api.events.subscribedJobs === 0);

      // Connecting after completion: the final state at once, then the stream ends.
      const late = await readSse(`${api.url}/v1/jobs/${id}/events`);
      expect(late.events.map((e) => e.event)).toEqual(['completed']);
      expect(jobResourceSchema.parse(JSON.parse(late.events[0]!.data)).result).toBeDefined();
      // The live completed event (built from the event's result) is the resource a fresh read gives.
      expect(JSON.parse(events[2]!.data)).toEqual(JSON.parse(late.events[0]!.data));
      expect(JSON.parse(events[2]!.data)).toEqual(await (await fetch(`${api.url}/v1/jobs/${id}`)).json());
    } finally {
      await worker?.close();
    }
  });

  it('sends cancelled when the job is deleted, 404 for unknown jobs, and drops listeners on disconnect', async () => {
    const { id } = (await (await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) })).json()) as { id: string };
    const stream = readSse(`${api.url}/v1/jobs/${id}/events`, (event) => {
      if (event.event === 'queued') void fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' });
    });
    expect((await stream).events.map((e) => e.event)).toEqual(['queued', 'cancelled']);

    const missing = await fetch(`${api.url}/v1/jobs/00000000-0000-4000-8000-000000000000/events`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const { id: other } = (await (await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) })).json()) as { id: string };
    const abort = new AbortController();
    let received = 0;
    const open = readSse(`${api.url}/v1/jobs/${other}/events`, () => received++, abort.signal).catch(() => undefined);
    await waitFor(async () => received === 1);
    expect(api.events.subscribedJobs).toBe(1);
    abort.abort();
    await open;
    await waitFor(async () => api.events.subscribedJobs === 0);
  });
});
