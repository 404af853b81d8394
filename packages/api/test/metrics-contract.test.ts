import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import {
  createApiMetrics,
  createMetricsRegistry,
  createWebhookMetrics,
  createWorkerMetrics,
  metricsHandler,
  recordBatch,
  recordWebhookAttempt,
} from '@maskq/shared';
import { httpMetrics } from '../src/middleware/http-metrics.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';
import { repoRoot } from '../../../test-support/paths.js';

/** Every PromQL expression in the Grafana dashboard (panels, nested rows, template queries). */
function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/dashboards/maskq.json'), 'utf8')) as unknown;
  const exprs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'expr' && typeof value === 'string') exprs.push(value);
        else walk(value);
      }
    }
  };
  walk(dashboard);
  return exprs;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }> }>;
}

function alertRules(): RuleFile {
  return parseYaml(readFileSync(join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8')) as RuleFile;
}

/** Metric names a PromQL expression reads, histogram series folded to the metric's name. */
function referencedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bmaskq_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

const prefix = uniquePrefix('contract');
const connection = { url: testRedisUrl };
const detect = new Queue('detect', { connection, prefix: `{${prefix}}` });
const webhooks = new Queue('webhooks', { connection, prefix: `{${prefix}}` });
let server: Server;
let scrape: string;

beforeAll(async () => {
  // One app with every metric module, each with a few observations.
  const registry = createMetricsRegistry({ service: 'contract' });
  const app = express();
  const api = createApiMetrics(registry, { queues: [detect, webhooks] });
  app.use(httpMetrics(api.http));
  const submit = api.submit;
  const worker = createWorkerMetrics(registry, { executionProvider: 'cpu', modelVersion: '1.0.0' });
  const hooks = createWebhookMetrics(registry);
  app.get('/v1/jobs/:id', (_req, res) => void res.json({}));
  app.get('/metrics', metricsHandler(registry));

  submit.recordSubmitted('detect');
  const now = Date.now();
  recordBatch(worker, {
    preprocessSeconds: 0.01,
    inferenceSeconds: 0.05,
    jobs: [
      { submittedAt: now - 300, startedAt: now - 100, finishedAt: now, detections: [{ label: 'mask', score: 0.9 }] },
      { submittedAt: now - 300, startedAt: now - 100, finishedAt: now, error: { code: 'invalid_image' } },
      { submittedAt: now - 300, startedAt: now - 100, finishedAt: now, error: { code: 'inference_failed', willRetry: true } },
    ],
  });
  recordWebhookAttempt(hooks, { outcome: 'delivered', durationSeconds: 0.05 });
  await detect.add('x', {});

  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;
  await fetch(`${base}/v1/jobs/abc`);
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  scrape = await res.text();
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await Promise.all([detect.close(), webhooks.close()]);
  const redis = new Redis(testRedisUrl);
  await deleteKeysUnder(redis, prefix);
  redis.disconnect();
});

function scrapedNames(): Set<string> {
  const names = new Set<string>();
  for (const line of scrape.split('\n')) {
    // `# TYPE` lines list labelled metrics that have no series yet too.
    const match = /^(?:# TYPE )?(maskq_[a-z_0-9]+)[{ ]/.exec(line);
    if (match) names.add(match[1]!.replace(/_(bucket|sum|count)$/, ''));
  }
  return names;
}

describe('dashboard and alerts only use metrics maskq exports', () => {
  it('every metric in the Grafana dashboard is in a live /metrics scrape', () => {
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    const used = new Set(exprs.flatMap(referencedMetrics));
    const scraped = scrapedNames();
    const missing = [...used].filter((name) => !scraped.has(name));
    expect(missing).toEqual([]);
    // the panels the issue asks for are there
    for (const name of ['maskq_jobs_completed_total', 'maskq_job_latency_seconds', 'maskq_queue_jobs', 'maskq_batch_size', 'maskq_jobs_failed_total', 'maskq_webhook_deliveries_total', 'maskq_worker_info', 'maskq_http_requests_total', 'maskq_http_request_duration_seconds']) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('every metric in the alert rules is in a live /metrics scrape, and the rules are well-formed', () => {
    const file = alertRules();
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Maskq[A-Za-z0-9]+$/);
      expect(rule.expr.trim().length).toBeGreaterThan(0);
      expect(rule.for ?? '0m').toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
    }
    const used = new Set(rules.flatMap((r) => referencedMetrics(r.expr)));
    const scraped = scrapedNames();
    expect([...used].filter((name) => !scraped.has(name))).toEqual([]);
    for (const name of ['maskq_queue_jobs', 'maskq_job_latency_seconds', 'maskq_jobs_failed_total', 'maskq_jobs_completed_total', 'maskq_webhook_deliveries_total']) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('the scrape uses route templates and one prefix', () => {
    expect(scrape).toMatch(/maskq_http_requests_total\{method="GET",route="\/v1\/jobs\/:id",status="200",service="contract"\} 1/);
    expect(scrape).not.toMatch(/route="\/v1\/jobs\/abc"/);
    const unprefixed = scrape.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('maskq_'));
    expect(unprefixed).toEqual([]);
  });
});
