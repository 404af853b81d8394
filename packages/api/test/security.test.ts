import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry } from '@maskq/shared';
import { createApiKeyring } from '../src/auth/api-keys.js';
import { fixture, form, startTestApi, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const jpeg = fixture('mask_01.jpg');
const apiKey = 'sec-key-0123456789abcdef';
const metricsToken = 'metrics-token-0123456789';
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    prefix: uniquePrefix('api-sec'),
    env: { METRICS_TOKEN: metricsToken },
    deps: {
      apiKeys: createApiKeyring([apiKey]),
      metricsRegistry: createMetricsRegistry({ service: 'api', defaultMetrics: false }),
      logger: createLogger({ level: 'debug', name: 'api' }, sink),
    },
  });
});
afterAll(async () => {
  await api?.close();
});
const auth = { authorization: `Bearer ${apiKey}` };

describe('secure headers and errors', () => {
  it('sends helmet headers with a same-origin CSP and no X-Powered-By', async () => {
    for (const res of [await fetch(`${api.url}/health`), await fetch(`${api.url}/v1/jobs/nope`, { headers: auth })]) {
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-eval');
    }
  });

  it('answers malformed bodies with JSON errors, never a stack trace', async () => {
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--zzz\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(JSON.parse(text)).toHaveProperty('error.code', 'invalid_request');
  });

  it('refuses too many multipart fields', async () => {
    const fields: Array<[string, string]> = Array.from({ length: 40 }, (_, i) => [`f${i}`, 'x']);
    const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: auth, body: form([['image', jpeg, 'a.jpg'], ...fields]) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/too many form fields/);
  });

  it('never logs the Authorization header', async () => {
    await fetch(`${api.url}/v1/jobs/nope`, { headers: auth });
    await fetch(`${api.url}/v1/jobs/nope`, { headers: { authorization: 'Bearer leaked-looking-wrong-key' } });
    const text = lines.join('');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain('leaked-looking-wrong-key');
  });
});

describe('/metrics', () => {
  it('needs the METRICS_TOKEN bearer token (not an API key)', async () => {
    for (const headers of [{}, auth, { authorization: 'Bearer wrong-token-000000000' }]) {
      const res = await fetch(`${api.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('counts submissions by endpoint and requests by route template', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await fetch(`${api.url}/v1/jobs`, { method: 'POST', headers: auth, body: form([['image', jpeg, 'a.jpg']]) })).status).toBe(202);
    }
    const batch = form([
      ['images', jpeg, 'a.jpg'],
      ['images', jpeg, 'b.jpg'],
      ['images', Buffer.from('nope'), 'c.txt'],
    ]);
    expect((await fetch(`${api.url}/v1/jobs/batch`, { method: 'POST', headers: auth, body: batch })).status).toBe(202);
    await fetch(`${api.url}/v1/jobs/some-id`, { headers: auth });
    const res = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/maskq_jobs_submitted_total\{[^}]*endpoint="detect"[^}]*\} 2\b/);
    expect(text).toMatch(/maskq_jobs_submitted_total\{[^}]*endpoint="detect_batch"[^}]*\} 2\b/);
    expect(text).toMatch(/maskq_http_requests_total\{[^}]*route="\/v1\/jobs\/:id"[^}]*status="404"/);
    expect(text).toMatch(/maskq_http_requests_total\{[^}]*method="POST"[^}]*route="\/v1\/jobs"[^}]*status="202"/);
    expect(text).toMatch(/maskq_queue_jobs\{[^}]*queue="detect"[^}]*state="waiting"[^}]*\} 4\b/);
  });
});
