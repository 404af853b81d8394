import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  acceptedJobSchema,
  batchAcceptedSchema,
  detectQuerySchema,
  detectResponseSchema,
  errorBodySchema,
  generateWebhookSecret,
  jobResourceSchema,
  submitFieldsSchema,
  writeWebhookState,
  type DetectJobData,
} from '@maskq/shared';
import { fixture, form, readSse, startTestApi, type SseEvent, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const jpeg = fixture('mask_01.jpg');
const secret = generateWebhookSecret();
let open: TestApi; // WEBHOOK_SECRET set, private addresses allowed (test receiver on loopback)
let strict: TestApi; // WEBHOOK_SECRET set, default SSRF rules
let noWebhooks: TestApi; // no WEBHOOK_SECRET
beforeAll(async () => {
  open = await startTestApi({ prefix: uniquePrefix('api-sub'), env: { WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: 'true' } });
  strict = await startTestApi({ prefix: uniquePrefix('api-sub-strict'), env: { WEBHOOK_SECRET: secret } });
  noWebhooks = await startTestApi({ prefix: uniquePrefix('api-sub-nowh') });
});
afterAll(async () => {
  await Promise.all([open?.close(), strict?.close(), noWebhooks?.close()]);
});

async function post(api: TestApi, path: string, fields: Array<[string, string]>, headers: Record<string, string> = {}) {
  const field = path === '/v1/jobs/batch' ? 'images' : 'image';
  return fetch(`${api.url}${path}${path === '/v1/detect' ? '?timeout_ms=1' : ''}`, { method: 'POST', body: form([[field, jpeg, 'a.jpg'], ...fields]), headers });
}
const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
async function idOf(res: Response): Promise<string> {
  const body = (await res.json()) as { id?: string; jobs?: Array<{ id: string }> };
  return body.id ?? body.jobs![0]!.id;
}

describe('submission fields', () => {
  it('stores max_wait_ms as a deadline, annotate, the callback and the request id on every submit route', async () => {
    for (const path of ['/v1/jobs', '/v1/jobs/batch', '/v1/detect']) {
      const before = Date.now();
      const res = await post(
        open,
        path,
        [
          ['max_wait_ms', '30000'],
          ['annotate', 'true'],
          ['callback_url', 'http://127.0.0.1:9/hook'],
          ['callback_events', 'failed'],
        ],
        { 'x-request-id': `req-${path.length}.abc` },
      );
      expect([202, 504], path).toContain(res.status);
      expect(res.headers.get('x-request-id')).toBe(`req-${path.length}.abc`);
      const data = (await open.detectQueue.getJob(await idOf(res)))!.data as DetectJobData;
      expect(data.deadline! - data.submittedAt, path).toBe(30_000);
      expect(data.submittedAt).toBeGreaterThanOrEqual(before);
      expect(data.annotate).toBe(true);
      expect(data.callback).toEqual({ url: 'http://127.0.0.1:9/hook', events: ['failed'] });
      expect(data.requestId).toBe(`req-${path.length}.abc`);
    }
  });

  it('takes the fields as query parameters for a raw-body upload', async () => {
    const res = await fetch(`${open.url}/v1/jobs?max_wait_ms=5000&annotate=false&callback_url=${encodeURIComponent('http://127.0.0.1:9/x')}&callback_events=completed&callback_events=failed`, {
      method: 'POST',
      body: jpeg,
      headers: { 'content-type': 'image/jpeg', 'x-maskq-metadata': '{"cam":1}' },
    });
    expect(res.status).toBe(202);
    const data = (await open.detectQueue.getJob(await idOf(res)))!.data;
    expect(data.deadline! - data.submittedAt).toBe(5000);
    expect(data.annotate).toBe(false);
    expect(data.metadata).toEqual({ cam: 1 });
    expect(data.callback).toEqual({ url: 'http://127.0.0.1:9/x', events: ['completed', 'failed'] });
  });

  it('refuses bad values with 400 and a message naming the field', async () => {
    const count = await open.detectQueue.count();
    for (const [fields, code, message] of [
      [[['max_wait_ms', '0']], 'invalid_request', /max_wait_ms/],
      [[['max_wait_ms', '86400001']], 'invalid_request', /max_wait_ms/],
      [[['max_wait_ms', '1.5']], 'invalid_request', /max_wait_ms/],
      [[['annotate', 'yes']], 'invalid_request', /annotate/],
      [[['callback_url', 'http://127.0.0.1:9/'], ['callback_events', 'started']], 'invalid_request', /callback_events/],
      [[['metadata', '[1]']], 'invalid_metadata', /object/],
      [[['metadata', '{']], 'invalid_metadata', /JSON/],
    ] as Array<[Array<[string, string]>, string, RegExp]>) {
      const res = await post(open, '/v1/jobs', fields);
      expect(res.status, JSON.stringify(fields)).toBe(400);
      const body = await error(res);
      expect(body.code).toBe(code);
      expect(body.message).toMatch(message);
    }
    const detect = await fetch(`${open.url}/v1/detect?timeout_ms=0`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
    expect(detect.status).toBe(400);
    expect((await error(detect)).message).toMatch(/timeout_ms/);
    expect(await open.detectQueue.count()).toBe(count);
  });
});

describe('callbacks', () => {
  it('refuses a loopback callback without WEBHOOK_ALLOW_PRIVATE (422 invalid_callback_url) and any callback without a secret (422 webhooks_disabled)', async () => {
    for (const path of ['/v1/jobs', '/v1/jobs/batch', '/v1/detect']) {
      const refused = await post(strict, path, [['callback_url', 'http://127.0.0.1:9/hook']]);
      expect(refused.status, path).toBe(422);
      expect((await error(refused)).code).toBe('invalid_callback_url');
      const disabled = await post(noWebhooks, path, [['callback_url', 'https://hooks.example.com/x']]);
      expect(disabled.status, path).toBe(422);
      expect((await error(disabled)).code).toBe('webhooks_disabled');
    }
    expect(await strict.detectQueue.count()).toBe(0);
    expect(await noWebhooks.detectQueue.count()).toBe(0);
  });

  it('shows the webhook delivery state in GET /v1/jobs/:id when the job has a callback', async () => {
    const res = await post(open, '/v1/jobs', [['callback_url', 'http://127.0.0.1:9/hook']]);
    const id = await idOf(res);
    const before = jobResourceSchema.parse(await (await fetch(`${open.url}/v1/jobs/${id}`)).json());
    expect(before.webhook).toBeUndefined();
    await writeWebhookState(open.inspect, open.keys, id, { status: 'failed', attempts: 3, last_status: 500, last_error: 'HTTP 500' }, 60);
    const after = jobResourceSchema.parse(await (await fetch(`${open.url}/v1/jobs/${id}`)).json());
    expect(after.webhook).toEqual({ status: 'failed', attempts: 3, last_status: 500, last_error: 'HTTP 500' });
  });

  it('includes the webhook state in the SSE events', async () => {
    const id = await idOf(await post(open, '/v1/jobs', [['callback_url', 'http://127.0.0.1:9/hook']]));
    await writeWebhookState(open.inspect, open.keys, id, { status: 'pending', attempts: 0 }, 60);
    const stop = new AbortController();
    let first: SseEvent | undefined;
    await readSse(`${open.url}/v1/jobs/${id}/events`, (event) => {
      first ??= event;
      stop.abort();
    }, stop.signal).catch(() => undefined);
    expect(first?.event).toBe('queued');
    expect((JSON.parse(first!.data) as { webhook?: unknown }).webhook).toEqual({ status: 'pending', attempts: 0 });
  });
});

describe('zod schemas for OpenAPI', () => {
  it('convert to JSON Schema (input side) with descriptions and examples', () => {
    const fields = z.toJSONSchema(submitFieldsSchema, { io: 'input' }) as { properties: Record<string, { description?: string; examples?: unknown[] }> };
    expect(Object.keys(fields.properties).sort()).toEqual(['annotate', 'callback_events', 'callback_url', 'max_wait_ms', 'metadata']);
    for (const [name, prop] of Object.entries(fields.properties)) expect(prop.description, name).toBeTruthy();
    expect(z.toJSONSchema(detectQuerySchema, { io: 'input' })).toHaveProperty('properties.timeout_ms');
    for (const schema of [acceptedJobSchema, batchAcceptedSchema, detectResponseSchema, errorBodySchema]) {
      expect(() => z.toJSONSchema(schema)).not.toThrow();
    }
  });

  it('describe what the routes answer', async () => {
    const accepted = await post(open, '/v1/jobs', []);
    expect(acceptedJobSchema.safeParse(await accepted.json()).success).toBe(true);
    const batch = await post(open, '/v1/jobs/batch', []);
    expect(batchAcceptedSchema.safeParse(await batch.json()).success).toBe(true);
    const bad = await post(open, '/v1/jobs', [['annotate', 'maybe']]);
    expect(errorBodySchema.safeParse(await bad.json()).success).toBe(true);
  });
});
