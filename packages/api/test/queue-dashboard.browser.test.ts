import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { createLogger } from '@maskq/shared';
import { mountQueueDashboard } from '../src/admin/queue-dashboard.js';
import { securityHeaders } from '../src/app.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const prefix = uniquePrefix('boardui');
const bullPrefix = `{${prefix}}`;
const connection = { url: testRedisUrl };
const detect = new Queue('detect', { connection, prefix: bullPrefix });
const webhooks = new Queue('webhooks', { connection, prefix: bullPrefix });
const credentials = { username: 'ops', password: 'correct horse battery' };

let server: Server;
let base: string;
let browser: Browser;
let completedJobId: string;

beforeAll(async () => {
  // Complete one job with a real worker so the dashboard has something to show.
  const events = new QueueEvents('detect', { connection, prefix: bullPrefix });
  await events.waitUntilReady();
  const worker = new Worker('detect', async () => ({ faces: 2 }), { connection, prefix: bullPrefix });
  const job = await detect.add('detect-image', { blobKey: 'k', format: 'jpeg', bytes: 1, submittedAt: Date.now() });
  await job.waitUntilFinished(events, 20_000);
  completedJobId = job.id!;
  await worker.close();
  await events.close();
  await webhooks.add('deliver', { jobId: completedJobId });

  const app = express();
  // The API's own secure headers: the dashboard must work under its CSP.
  app.use(securityHeaders());
  mountQueueDashboard(app, {
    config: { ADMIN_USER: credentials.username, ADMIN_PASSWORD: credentials.password },
    queues: [detect, webhooks],
    logger: createLogger({ level: 'silent', name: 'api' }),
  });
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await Promise.all([detect.close(), webhooks.close()]);
  const redis = new Redis(testRedisUrl);
  await deleteKeysUnder(redis, prefix);
  redis.disconnect();
});

describe('queue dashboard in a browser', () => {
  it('is refused with a wrong password', async () => {
    const context = await browser.newContext({ httpCredentials: { ...credentials, password: 'wrong password' } });
    const page = await context.newPage();
    const response = await page.goto(`${base}/admin/queues`);
    expect(response?.status()).toBe(401);
    expect(await page.content()).toMatch(/unauthorized/);
    expect(await page.getByText('webhooks', { exact: true }).count()).toBe(0);
    await context.close();
  });

  it('logs in with basic auth, lists both queues and shows the completed job', async () => {
    const context = await browser.newContext({ httpCredentials: credentials });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      // bull-board's Google Fonts stylesheet is blocked on purpose (no third-party requests; system fonts are used).
      if (/Content Security Policy/i.test(message.text()) && !message.text().includes('fonts.googleapis.com')) cspViolations.push(message.text());
    });
    const response = await page.goto(`${base}/admin/queues`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByText('detect', { exact: true }).first().waitFor({ timeout: 20_000 });
    await page.getByText('webhooks', { exact: true }).first().waitFor({ timeout: 20_000 });

    await page.goto(`${base}/admin/queues/queue/detect?status=completed`);
    await page.getByText('detect-image').first().waitFor({ timeout: 20_000 });
    await page.getByText(`#${completedJobId}`).first().waitFor({ timeout: 20_000 });
    expect(cspViolations).toEqual([]);
    await context.close();
  });
});
