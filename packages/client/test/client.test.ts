import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { uniquePrefix } from '../../../test-support/redis.js';
import { fixture, startTestApi, startTestWorker, type TestApi, type TestWorker } from '../../api/test/harness.js';
import { MaskqApiError, MaskqClient, MaskqTimeoutError, type JobResource } from '../src/index.js';
import { fakeDetect, resultForBytes } from './fake-detector.js';

// A real full collection on demand (the test runner does not start node with --expose-gc).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let api: TestApi;
let worker: TestWorker;
let client: MaskqClient;

beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('client') });
  worker = startTestWorker(api, async (job) => {
    if (job.data.metadata?.fail) throw new UnrecoverableError('invalid_image: cannot decode');
    return fakeDetect(job);
  });
  client = new MaskqClient({ baseUrl: `${api.url}/` });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

describe('MaskqClient against a real API and BullMQ worker', () => {
  it('submit + wait follows the job over server-sent events to its result', async () => {
    const image = fixture('mask_01.jpg');
    const accepted = await client.submit(image, { filename: 'mask_01.jpg', metadata: { camera: 'door-3' } });
    expect(accepted).toMatchObject({ status: 'queued', links: { self: `/v1/jobs/${accepted.id}` } });
    const seen: string[] = [];
    const job = await client.wait(accepted.id, { timeoutMs: 20_000, onUpdate: (j) => seen.push(j.status) });
    expect(job.status).toBe('completed');
    expect(job.result).toEqual(resultForBytes(image.length));
    expect(job.metadata).toEqual({ camera: 'door-3' });
    expect(seen.at(-1)).toBe('completed');
    expect(await client.get(accepted.id)).toMatchObject({ id: accepted.id, status: 'completed', result: job.result });
  });

  it('finishedJobs() streams every finished job of the caller over one connection', async () => {
    const stream = await client.finishedJobs();
    // The stream must survive garbage collection before it is read: fetch cancels the body of a
    // collected Response that nobody has started reading (this failed once under a loaded CI).
    for (let i = 0; i < 3; i++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const images = [fixture('mask_01.jpg'), fixture('nomask_01.jpg'), fixture('mask_02.jpg')];
    const accepted = await Promise.all(images.map((image, i) => client.submit(image, { metadata: i === 1 ? { fail: true } : { n: i } })));
    const finished = new Map<string, JobResource>();
    for await (const job of stream) {
      if (accepted.some((a) => a.id === job.id)) finished.set(job.id, job);
      if (finished.size === accepted.length) break;
    }
    stream.close();
    expect(finished.get(accepted[0]!.id)).toMatchObject({ status: 'completed', result: resultForBytes(images[0]!.length), metadata: { n: 0 } });
    expect(finished.get(accepted[1]!.id)).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
    expect(finished.get(accepted[2]!.id)!.status).toBe('completed');
    await expect(new MaskqClient({ baseUrl: 'http://127.0.0.1:1' }).finishedJobs()).rejects.toBeInstanceOf(MaskqApiError);
  });

  it('accepts a file path, a Blob and an ArrayBuffer', async () => {
    const { fixtureImagesDir } = await import('../../../test-support/paths.js');
    const bytes = fixture('mask_02.jpg');
    const a = await client.submit(`${fixtureImagesDir}/mask_02.jpg`);
    const b = await client.submit(new Blob([bytes]));
    const c = await client.submit(new Uint8Array(bytes).buffer);
    for (const { id } of [a, b, c]) expect((await client.wait(id, { timeoutMs: 20_000 })).result).toEqual(resultForBytes(bytes.length));
  });

  it('submitBatch answers per image, with a typed error for the bad one', async () => {
    const entries = await client.submitBatch([fixture('mask_01.jpg'), Buffer.from('not an image'), fixture('nomask_01.jpg')]);
    expect(entries).toHaveLength(3);
    expect(entries[1]).toMatchObject({ index: 1, error: { code: 'unsupported_format' } });
    const ids = entries.flatMap((e) => ('id' in e ? [e.id] : []));
    expect(ids).toHaveLength(2);
    const jobs = await Promise.all(ids.map((id) => client.wait(id, { timeoutMs: 20_000 })));
    expect(jobs.map((j) => j.result)).toEqual([resultForBytes(fixture('mask_01.jpg').length), resultForBytes(fixture('nomask_01.jpg').length)]);
  });

  it('detect answers the result synchronously', async () => {
    const image = fixture('nomask_01.jpg');
    const answer = await client.detect(image, { timeoutMs: 20_000 });
    expect(answer).toMatchObject({ success: true, result: resultForBytes(image.length) });
    expect(answer.processing_time).toBeGreaterThanOrEqual(0);
  });

  it('a failed job resolves wait() with status failed and the error code', async () => {
    const { id } = await client.submit(fixture('mask_01.jpg'), { metadata: { fail: true } });
    const job = await client.wait(id, { timeoutMs: 20_000 });
    expect(job).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
  });

  it('API errors are MaskqApiError with the API code and status', async () => {
    const missing = await client.get('no-such-job').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MaskqApiError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    const notImage = await client.submit(Buffer.from('hello')).catch((e: unknown) => e);
    expect(notImage).toMatchObject({ status: 415, code: 'unsupported_format' });
    expect((notImage as MaskqApiError).requestId).toMatch(/.+/);
    await expect(client.wait('no-such-job', { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'not_found' });
    const down = await new MaskqClient({ baseUrl: 'http://127.0.0.1:1' }).get('x').catch((e: unknown) => e);
    expect(down).toMatchObject({ status: 0, code: 'unavailable' });
  });

  it('sends the API key as a Bearer token', async () => {
    const seen: Array<string | null> = [];
    const spy = new MaskqClient({
      baseUrl: api.url,
      apiKey: 'mq_test_key',
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get('authorization'));
        return fetch(input, init);
      },
    });
    const { id } = await spy.submit(fixture('mask_01.jpg'));
    await spy.wait(id, { timeoutMs: 20_000 });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen)).toEqual(new Set(['Bearer mq_test_key']));
  });
});

describe('wait() fallbacks and limits', () => {
  it('polls GET /v1/jobs/:id when the event stream is unavailable', async () => {
    const requested: string[] = [];
    const noSse = new MaskqClient({
      baseUrl: api.url,
      fetch: async (input, init) => {
        const url = String(input);
        requested.push(new URL(url).pathname);
        if (url.endsWith('/events')) return new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } });
        return fetch(input, init);
      },
    });
    const image = fixture('mask_03.jpg');
    const { id } = await noSse.submit(image);
    const updates: JobResource[] = [];
    const job = await noSse.wait(id, { timeoutMs: 20_000, pollIntervalMs: { min: 20, max: 100 }, onUpdate: (j) => updates.push(j) });
    expect(job.result).toEqual(resultForBytes(image.length));
    expect(requested).toContain(`/v1/jobs/${id}/events`);
    expect(requested.filter((p) => p === `/v1/jobs/${id}`).length).toBeGreaterThanOrEqual(1);
  });

  it('throws MaskqTimeoutError (with the job id) when the job does not finish in time, and cancel() removes it', async () => {
    // An API with no worker: the job stays queued.
    const idle = await startTestApi({ prefix: uniquePrefix('client-idle') });
    try {
      const idleClient = new MaskqClient({ baseUrl: idle.url });
      const { id } = await idleClient.submit(fixture('mask_01.jpg'));
      const err = await idleClient.wait(id, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaskqTimeoutError);
      expect((err as MaskqTimeoutError).jobId).toBe(id);
      const aborted = new AbortController();
      const waiting = idleClient.wait(id, { signal: aborted.signal });
      aborted.abort(new Error('stop'));
      await expect(waiting).rejects.toThrow('stop');
      expect(await idleClient.cancel(id)).toEqual({ id, status: 'cancelled' });
      await expect(idleClient.get(id)).rejects.toMatchObject({ code: 'not_found' });
      const timeout = await idleClient.detect(fixture('mask_01.jpg'), { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(timeout).toMatchObject({ status: 504, code: 'timeout' });
      expect((timeout as MaskqApiError).jobId).toMatch(/.+/);
    } finally {
      await idle.close();
    }
  });
});
