/**
 * `GET /v1/events`: one server-sent event stream for all of a caller's jobs, each finished job
 * as its final resource. Real API, real Redis and BullMQ, a stand-in BullMQ worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { readServerSentEvents } from '@maskq/client/core';
import { jobResourceSchema, type JobResource } from '@maskq/shared';
import { createApiKeyring } from '../src/auth/api-keys.js';
import { fakeReturn, fixture, form, sleep, startTestApi, startTestWorker, waitFor, type SseEvent, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const jpeg = fixture('mask_02.jpg');

/** An open event stream: `events` grows as they arrive; resolves once the headers are in. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const done = (async () => {
    if (!res.body || res.status !== 200) return;
    try {
      for await (const event of readServerSentEvents(res.body)) events.push({ event: event.event, data: event.data });
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    // A cancelled job is only { id, status } (its data is gone), as on the per-job stream.
    resources: () => events.map((e) => (e.event === 'cancelled' ? JSON.parse(e.data) : jobResourceSchema.parse(JSON.parse(e.data))) as JobResource),
    close: async () => {
      abort.abort();
      await done;
    },
    ended: done,
  };
}

async function submit(api: TestApi, headers: Record<string, string> = {}, metadata?: string): Promise<string> {
  const entries: Array<[string, Buffer | string, string?]> = [['image', jpeg, 'a.jpg']];
  if (metadata) entries.push(['metadata', metadata]);
  const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form(entries), headers });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('GET /v1/events (no API keys)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ prefix: uniquePrefix('api-stream') });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('sends every job that finishes as its final resource: completed, failed, cancelled; one stream for all', async () => {
    const stream = await openStream(`${api.url}/v1/events`);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const ids = [await submit(api, {}, '{"camera":"gate-1"}'), await submit(api), await submit(api)];
    const worker = startTestWorker(api, async (job) => {
      if (job.id === ids[1]) throw new UnrecoverableError('the model said no');
      return fakeReturn();
    });
    try {
      await waitFor(async () => stream.events.length >= 3);
      const byId = new Map(stream.resources().map((r) => [r.id, r]));
      expect(new Set(byId.keys())).toEqual(new Set(ids));
      expect(byId.get(ids[0]!)).toMatchObject({ status: 'completed', metadata: { camera: 'gate-1' } });
      expect(byId.get(ids[0]!)!.result?.summary.faces).toBe(1);
      expect(byId.get(ids[1]!)!.status).toBe('failed');
      // Each event is the resource GET /v1/jobs/:id gives, and its name is the status.
      for (const [i, event] of stream.events.entries()) {
        const resource = stream.resources()[i]!;
        expect(event.event).toBe(resource.status);
        expect(resource).toEqual(await (await fetch(`${api.url}/v1/jobs/${resource.id}`)).json());
      }
    } finally {
      await worker.close();
    }

    // A queued job deleted by its owner: cancelled.
    const queued = await submit(api);
    expect((await fetch(`${api.url}/v1/jobs/${queued}`, { method: 'DELETE' })).status).toBeLessThan(300);
    await waitFor(async () => stream.events.length >= 4);
    expect(stream.events[3]).toMatchObject({ event: 'cancelled' });
    expect(JSON.parse(stream.events[3]!.data)).toEqual({ id: queued, status: 'cancelled' });

    // Two streams see the same finishes; a closed one stops listening.
    const second = await openStream(`${api.url}/v1/events`);
    expect(api.events.subscribedToAll).toBe(1); // one feed per app, however many streams
    const worker2 = startTestWorker(api, async () => fakeReturn());
    try {
      const id = await submit(api);
      await waitFor(async () => second.events.length >= 1 && stream.events.length >= 5);
      expect(second.resources()[0]).toEqual(stream.resources()[4]);
      expect(second.resources()[0]!.id).toBe(id);
    } finally {
      await worker2.close();
    }
    await stream.close();
    await second.close();
    await waitFor(async () => api.events.subscribedToAll === 0);
  });

  it('ends the streams when the API shuts down', async () => {
    const own = await startTestApi({ prefix: uniquePrefix('api-stream-close') });
    const stream = await openStream(`${own.url}/v1/events`);
    await own.events.close();
    await Promise.race([stream.ended, sleep(5000).then(() => Promise.reject(new Error('stream did not end')))]);
    await own.close();
  });
});

describe('GET /v1/events with API keys', () => {
  const keyA = 'key-a-0123456789abcdef';
  const keyB = 'key-b-fedcba9876543210';
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ prefix: uniquePrefix('api-stream-auth'), deps: { apiKeys: createApiKeyring([keyA, keyB]) } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('needs a key, and shows each caller only its own jobs', async () => {
    const anonymous = await fetch(`${api.url}/v1/events`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBeTruthy();

    const streamA = await openStream(`${api.url}/v1/events`, auth(keyA));
    const streamB = await openStream(`${api.url}/v1/events`, auth(keyB));
    expect([streamA.res.status, streamB.res.status]).toEqual([200, 200]);
    const worker = startTestWorker(api, async () => fakeReturn());
    try {
      const [a1, b1, a2] = [await submit(api, auth(keyA)), await submit(api, auth(keyB)), await submit(api, auth(keyA))];
      await waitFor(async () => streamA.events.length >= 2 && streamB.events.length >= 1);
      await sleep(200); // nothing else arrives
      expect(new Set(streamA.resources().map((r) => r.id))).toEqual(new Set([a1, a2]));
      expect(streamB.resources().map((r) => r.id)).toEqual([b1]);
    } finally {
      await worker.close();
    }
    // A removed job's owner is unknown: no keyed stream is told.
    const queued = await submit(api, auth(keyA));
    await fetch(`${api.url}/v1/jobs/${queued}`, { method: 'DELETE', headers: auth(keyA) });
    await sleep(300);
    expect(streamA.events.map((e) => e.event)).not.toContain('cancelled');
    await streamA.close();
    await streamB.close();
  });
});
