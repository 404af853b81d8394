import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobResourceSchema, type DetectJobData } from '@maskq/shared';
import { blobKeys, fakeReturn, fixture, form, queueCounts, startTestApi, startTestWorker, waitFor, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('api-jobs') });
});
afterAll(async () => {
  await api?.close();
});

const jpeg = fixture('mask_01.jpg');
const png = fixture('mask_08.png');

async function submitMultipart(bytes: Buffer, extra: Array<[string, string]> = []) {
  const body = form([['image', bytes, 'photo.jpg'], ...extra]);
  return fetch(`${api.url}/v1/jobs`, { method: 'POST', body });
}

describe('POST /v1/jobs', () => {
  it('accepts a multipart image: 202, Location, job with a blob reference and no bytes, blob with TTL', async () => {
    const res = await submitMultipart(jpeg, [['metadata', JSON.stringify({ camera: 'gate-3', n: 1 })]]);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; links: { self: string } };
    expect(body.status).toBe('queued');
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.links.self).toBe(`/v1/jobs/${body.id}`);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${body.id}`);
    expect(res.headers.get('x-powered-by')).toBeNull();

    const job = await api.detectQueue.getJob(body.id);
    expect(job).toBeDefined();
    const data = job!.data as DetectJobData;
    expect(data.blobKey).toBe(api.keys.blob(body.id));
    expect(data.format).toBe('jpeg');
    expect(data.bytes).toBe(jpeg.length);
    expect(data.metadata).toEqual({ camera: 'gate-3', n: 1 });
    // The job carries a reference, never the image.
    expect(JSON.stringify(job!.data).length).toBeLessThan(1000);
    expect(await job!.getState()).toBe('waiting');

    const stored = await api.inspect.getBuffer(data.blobKey);
    expect(stored?.equals(jpeg)).toBe(true);
    const ttl = await api.inspect.ttl(data.blobKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(api.config.BLOB_TTL_SECONDS);

    const got = await fetch(`${api.url}/v1/jobs/${body.id}`);
    expect(got.status).toBe(200);
    const resource = jobResourceSchema.parse(await got.json());
    expect(resource.status).toBe('queued');
    expect(resource.metadata).toEqual({ camera: 'gate-3', n: 1 });
    expect(resource.result).toBeUndefined();
  });

  it('accepts a raw image/* body with metadata in X-Maskq-Metadata', async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png', 'x-maskq-metadata': '{"store":7}' },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(res.headers.get('location')).toBe(`/v1/jobs/${id}`);
    const job = await api.detectQueue.getJob(id);
    expect(job!.data.format).toBe('png');
    expect(job!.data.metadata).toEqual({ store: 7 });
    expect((await api.inspect.getBuffer(job!.data.blobKey))?.equals(png)).toBe(true);
  });

  it('sniffs the bytes, not the declared content type', async () => {
    const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: png, headers: { 'content-type': 'image/jpeg' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await api.detectQueue.getJob(id))!.data.format).toBe('png');
  });

  it('shows a job completed by a worker with result, timings, model and metadata', async () => {
    const res = await submitMultipart(jpeg, [['metadata', '{"ticket":"A-1"}']]);
    const { id } = (await res.json()) as { id: string };
    const seen: Buffer[] = [];
    const worker = startTestWorker(api, async (job) => {
      if (job.id !== id) return fakeReturn();
      const [bytes] = await api.blobStore.getMany([job.data.blobKey]);
      seen.push(bytes!);
      return fakeReturn({ startedAt: Date.now(), finishedAt: Date.now() + 5 });
    });
    try {
      const resource = await waitFor(async () => {
        const r = jobResourceSchema.parse(await (await fetch(`${api.url}/v1/jobs/${id}`)).json());
        return r.status === 'completed' ? r : undefined;
      });
      expect(seen[0]?.equals(jpeg)).toBe(true);
      expect(resource.result?.summary).toEqual({ faces: 1, masked: 1, unmasked: 0 });
      expect(resource.result?.detections[0]?.label).toBe('mask');
      expect(resource.model).toEqual({ name: 'face-mask', version: '1.0.0' });
      expect(resource.timings?.inference_ms).toBe(12.35);
      expect(resource.timings?.total_ms).toBeGreaterThanOrEqual(0);
      expect(resource.started_at).toBeDefined();
      expect(resource.finished_at).toBeDefined();
      expect(resource.metadata).toEqual({ ticket: 'A-1' });
    } finally {
      await worker.close();
    }
  });
});

describe('GET /v1/jobs/:id', () => {
  it('answers 404 not_found as JSON for unknown ids', async () => {
    for (const id of ['2b1f8a43-0000-4000-8000-000000000000', 'not a valid id!']) {
      const res = await fetch(`${api.url}/v1/jobs/${encodeURIComponent(id)}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });
});

describe('POST /v1/jobs/batch', () => {
  it('enqueues good files in upload order and gives a bad one its own error entry', async () => {
    const before = await queueCounts(api.detectQueue);
    const body = form([
      ['images', jpeg, 'a.jpg'],
      ['images', png, 'b.png'],
      ['images', Buffer.from('just some text, not an image'), 'notes.txt'],
      ['images', Buffer.alloc(0), 'empty.jpg'],
      ['images', fixture('nomask_01.jpg'), 'c.jpg'],
      ['metadata', '{"batch":"b1"}'],
    ]);
    const res = await fetch(`${api.url}/v1/jobs/batch`, { method: 'POST', body });
    expect(res.status).toBe(202);
    const { jobs } = (await res.json()) as {
      jobs: Array<{ index: number; id?: string; status?: string; filename?: string; error?: { code: string } }>;
    };
    expect(jobs.map((j) => j.index)).toEqual([0, 1, 2, 3, 4]);
    expect(jobs[2]).toMatchObject({ filename: 'notes.txt', error: { code: 'unsupported_format' } });
    expect(jobs[3]).toMatchObject({ filename: 'empty.jpg', error: { code: 'invalid_image' } });
    const good = [jobs[0]!, jobs[1]!, jobs[4]!];
    for (const entry of good) {
      expect(entry.status).toBe('queued');
      expect(entry.id).toBeDefined();
    }
    expect(await queueCounts(api.detectQueue)).toBe(before + 3);
    const formats = await Promise.all(good.map(async (e) => (await api.detectQueue.getJob(e.id!))!.data));
    expect(formats.map((d) => d.format)).toEqual(['jpeg', 'png', 'jpeg']);
    expect(formats[2]!.bytes).toBe(fixture('nomask_01.jpg').length);
    expect(formats.every((d) => d.metadata?.batch === 'b1')).toBe(true);
    for (const e of good) expect(await api.inspect.exists(api.keys.blob(e.id!))).toBe(1);
  });

  it('rejects more than MAX_BATCH_FILES with 400 too_many_files and enqueues nothing', async () => {
    const small = await startTestApi({ prefix: uniquePrefix('api-batch'), env: { MAX_BATCH_FILES: '3' } });
    try {
      const body = form([1, 2, 3, 4].map((i) => ['images', jpeg, `${i}.jpg`] as [string, Buffer, string]));
      const res = await fetch(`${small.url}/v1/jobs/batch`, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('too_many_files');
      expect(await queueCounts(small.detectQueue)).toBe(0);
      expect(await blobKeys(small)).toEqual([]);
      // Exactly the limit is fine.
      const ok = await fetch(`${small.url}/v1/jobs/batch`, {
        method: 'POST',
        body: form([1, 2, 3].map((i) => ['images', jpeg, `${i}.jpg`] as [string, Buffer, string])),
      });
      expect(ok.status).toBe(202);
      expect(await queueCounts(small.detectQueue)).toBe(3);
    } finally {
      await small.close();
    }
  });

  it('gives an oversize file in a batch its own 413-style entry', async () => {
    const small = await startTestApi({ prefix: uniquePrefix('api-batch'), env: { MAX_IMAGE_BYTES: String(jpeg.length + 10) } });
    try {
      const big = fixture('scene_5faces_1920x1080.jpg');
      const res = await fetch(`${small.url}/v1/jobs/batch`, {
        method: 'POST',
        body: form([
          ['images', big, 'big.jpg'],
          ['images', jpeg, 'ok.jpg'],
        ]),
      });
      expect(res.status).toBe(202);
      const { jobs } = (await res.json()) as { jobs: Array<{ id?: string; error?: { code: string } }> };
      expect(jobs[0]?.error?.code).toBe('payload_too_large');
      expect(jobs[1]?.id).toBeDefined();
      expect(await queueCounts(small.detectQueue)).toBe(1);
    } finally {
      await small.close();
    }
  });
});

describe('DELETE /v1/jobs/:id', () => {
  it('cancels a queued job and deletes its blob', async () => {
    const { id } = (await (await submitMultipart(jpeg)).json()) as { id: string };
    expect(await api.inspect.exists(api.keys.blob(id))).toBe(1);
    const res = await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, status: 'cancelled' });
    expect(await api.inspect.exists(api.keys.blob(id))).toBe(0);
    expect(await api.detectQueue.getJob(id)).toBeUndefined();
    expect((await fetch(`${api.url}/v1/jobs/${id}`)).status).toBe(404);
    expect((await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('answers 409 conflict for a job a worker is processing, and leaves it alone', async () => {
    const own = await startTestApi({ prefix: uniquePrefix('api-del') });
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const worker = startTestWorker(own, async (job) => {
      started.push(job.id!);
      await released;
      return fakeReturn();
    });
    try {
      const res = await fetch(`${own.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'x.jpg']]) });
      const { id } = (await res.json()) as { id: string };
      await waitFor(async () => started.includes(id));
      const del = await fetch(`${own.url}/v1/jobs/${id}`, { method: 'DELETE' });
      expect(del.status).toBe(409);
      expect(((await del.json()) as { error: { code: string } }).error.code).toBe('conflict');
      expect(await (await own.detectQueue.getJob(id))!.getState()).toBe('active');
      release();
      await waitFor(async () => (await (await own.detectQueue.getJob(id))!.getState()) === 'completed');
      expect((await fetch(`${own.url}/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
    } finally {
      release();
      await worker.close();
      await own.close();
    }
  });
});
