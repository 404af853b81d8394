import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import { createHttpMetrics, createMetricsRegistry, metricsHandler, type Registry } from '@maskq/shared';
import { httpMetrics } from '../src/middleware/http-metrics.js';

let server: Server;
let base: string;
let registry: Registry;

beforeAll(async () => {
  registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
  const app = express();
  app.use(httpMetrics(createHttpMetrics(registry)));
  const v1 = express.Router();
  v1.get('/jobs/:id', (req, res) => {
    if (req.params.id === 'missing') res.status(404).json({ error: { code: 'not_found', message: 'no such job' } });
    else res.json({ id: req.params.id });
  });
  v1.get('/boom/:id', () => {
    throw new Error('handler failed');
  });
  v1.post('/detect', (_req, res) => void res.status(202).json({}));
  app.use('/v1', v1);
  app.get('/metrics', metricsHandler(registry));
  app.use((_req: express.Request, res: express.Response) => void res.status(404).json({ error: { code: 'not_found', message: 'no route' } }));
  app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) =>
    void res.status(500).json({ error: { code: 'internal_error', message: 'x' } }),
  );
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function series(name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const all = await registry.getMetricsAsJSON();
  return (all.find((m) => m.name === name)?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number }>;
}

describe('httpMetrics middleware', () => {
  it('labels requests with the route template, not the URL, including errors from nested routers', async () => {
    for (const id of ['abc', 'def', 'ghi']) expect((await fetch(`${base}/v1/jobs/${id}`)).status).toBe(200);
    expect((await fetch(`${base}/v1/jobs/missing`)).status).toBe(404);
    expect((await fetch(`${base}/v1/boom/1`)).status).toBe(500);
    expect((await fetch(`${base}/v1/detect`, { method: 'POST' })).status).toBe(202);

    const requests = await series('maskq_http_requests_total');
    const count = (route: string, status: string, method = 'GET') =>
      requests.find((s) => s.labels.route === route && String(s.labels.status) === status && s.labels.method === method)?.value;
    expect(count('/v1/jobs/:id', '200')).toBe(3);
    expect(count('/v1/jobs/:id', '404')).toBe(1);
    expect(count('/v1/boom/:id', '500')).toBe(1);
    expect(count('/v1/detect', '202', 'POST')).toBe(1);
    expect(requests.some((s) => String(s.labels.route).includes('abc'))).toBe(false);

    const durations = await series('maskq_http_request_duration_seconds');
    const jobCount = durations.find(
      (s) => (s as { metricName?: string }).metricName === 'maskq_http_request_duration_seconds_count' && s.labels.route === '/v1/jobs/:id' && String(s.labels.status) === '200',
    );
    expect(jobCount?.value).toBe(3);
  });

  it('puts every unmatched URL and odd method under one series', async () => {
    const before = (await series('maskq_http_requests_total')).length;
    for (let i = 0; i < 25; i++) expect((await fetch(`${base}/scan/${i}/wp-login.php?x=${i}`)).status).toBe(404);
    expect((await fetch(`${base}/v1/nothing-${Date.now()}`)).status).toBe(404);
    const requests = await series('maskq_http_requests_total');
    expect(requests.length - before).toBe(1);
    expect(requests.find((s) => s.labels.route === 'unmatched' && String(s.labels.status) === '404')?.value).toBe(26);
  });

  it('serves the registry at /metrics in Prometheus text format with in-flight back to zero', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^maskq_http_requests_total\{method="GET",route="\/v1\/jobs\/:id",status="200",service="api"\} 3$/m);
    // the scrape itself is still in flight while it renders; everything before is done
    expect(text).toMatch(/^maskq_http_requests_in_flight\{method="GET",service="api"\} 1$/m);
    expect(text).toMatch(/^maskq_http_requests_in_flight\{method="POST",service="api"\} 0$/m);
  });
});
