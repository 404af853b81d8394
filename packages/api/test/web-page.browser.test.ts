import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobResource } from '@maskq/shared';
import { createApiKeyring } from '../src/auth/api-keys.js';
import { fixtureImagesDir, repoRoot } from '../../../test-support/paths.js';
import { uniquePrefix } from '../../../test-support/redis.js';
import { WorkerChild } from '../../worker/test/support/worker-harness.js';
import { startTestApi, type TestApi } from './harness.js';

// The web page (packages/web/dist, built by the vitest globalSetup) served by a real API,
// with a real worker process running the model, driven in headless Chromium.
const apiKey = 'mq_browser_test_key_0123456789';
const prefix = uniquePrefix('webpage');
const images = ['aizoo_demo2.jpg', 'mask_01.jpg'];

let api: TestApi;
let worker: WorkerChild;
let browser: Browser;

beforeAll(async () => {
  api = await startTestApi({ prefix, deps: { apiKeys: createApiKeyring([apiKey]) } });
  worker = new WorkerChild({ QUEUE_PREFIX: prefix });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await worker.ready();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
  await api?.close();
});

/** A page that records console errors, CSP violations and every status each job card shows. */
async function openPage(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[14]/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  // Runs in the page before its scripts (a string: this file is compiled without the DOM lib).
  await page.addInitScript(`
    window.__csp = [];
    window.__statuses = {};
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target;
        if (r.attributeName !== 'data-status' || !el.dataset || !el.dataset.file) continue;
        (window.__statuses[el.dataset.file] ??= []).push(el.dataset.status || '');
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
  `);
  const response = await page.goto(`${api.url}${path}`);
  expect(response?.status()).toBe(200);
  return { page, problems };
}

async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.__csp');
}

describe('web page', () => {
  it('is served with caching headers: index revalidated, hashed assets immutable', async () => {
    const index = await fetch(`${api.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${api.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('without a key, shows the 401 and asks for one', async () => {
    const { page } = await openPage('/');
    await page.locator('#files').setInputFiles(join(fixtureImagesDir, images[1]!));
    const card = page.locator('[data-testid="job"]').first();
    await card.locator('.error').waitFor({ timeout: 20_000 });
    expect(await card.locator('.error').textContent()).toMatch(/unauthorized.*set the API key/);
    await page.close();
  });

  it('uploads two images, follows them live to done, and shows the counts of the job results', async () => {
    const { page, problems } = await openPage('/');
    await page.locator('#api-key').fill(apiKey);
    await page.locator('#key-form button').click();
    expect(await page.evaluate<string | null>("localStorage.getItem('maskq.apiKey')")).toBe(apiKey);

    await page.locator('#files').setInputFiles(images.map((name) => join(fixtureImagesDir, name)));
    const done = page.locator('[data-testid="job"][data-status="completed"][data-rendered="true"]');
    await expect.poll(() => done.count(), { timeout: 60_000, interval: 200 }).toBe(2);

    const totals = { faces: 0, masked: 0, unmasked: 0 };
    for (const name of images) {
      const card = page.locator(`[data-testid="job"][data-file="${name}"]`);
      const id = await card.getAttribute('data-job-id');
      const res = await fetch(`${api.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const job = (await res.json()) as JobResource;
      expect(job.status).toBe('completed');
      const summary = job.result!.summary;
      for (const key of ['faces', 'masked', 'unmasked'] as const) {
        expect(await card.locator(`[data-count="${key}"]`).textContent(), `${name} ${key}`).toBe(String(summary[key]));
        totals[key] += summary[key];
      }
      expect(await card.locator('.faces li').count()).toBe(job.result!.detections.length);
      // No annotated.jpg on this server: the page draws the boxes itself.
      expect(await card.locator('[data-visual="annotated"], [data-visual="canvas"]').count()).toBe(1);
    }
    expect(totals.faces).toBeGreaterThan(0);
    for (const key of ['faces', 'masked', 'unmasked'] as const) {
      expect(await page.locator(`[data-total="${key}"]`).textContent()).toBe(String(totals[key]));
    }

    // Each card showed queued before done (processing may pass between two reads).
    const statuses = await page.evaluate<Record<string, string[]>>('window.__statuses');
    for (const name of images) {
      expect(statuses[name]![0]).toBe('queued');
      expect(statuses[name]!.at(-1)).toBe('completed');
    }
    expect(await page.locator('a[href="/docs"]').count()).toBe(1);
    expect(await page.locator('a[href="/admin/queues"]').count()).toBe(1);
    expect(await cspViolations(page)).toEqual([]);
    expect(problems).toEqual([]);

    mkdirSync(join(repoRoot, 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'artifacts', 'web-page.png'), fullPage: true });
    await page.close();
  });
});

describe('API docs page', () => {
  it('renders Swagger UI from local files under the CSP, listing the operations', async () => {
    const { page, problems } = await openPage('/docs');
    const offsite: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(api.url) && !req.url().startsWith('data:')) offsite.push(req.url());
    });
    await page.getByText('/v1/jobs/{id}/events').first().waitFor({ timeout: 30_000 });
    await page.getByText('/v1/detect').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(10);
    // "Try it out" on POST /v1/jobs offers a file picker for the multipart `image` field.
    const submit = page.locator('#operations-jobs-submitJob');
    await submit.locator('.opblock-summary').click();
    await submit.getByRole('button', { name: 'Try it out' }).click();
    await submit.locator('select.content-type, .body-param-content-type select').first().selectOption('multipart/form-data').catch(() => undefined);
    await submit.locator('input[type="file"]').first().waitFor({ timeout: 10_000 });
    expect(await cspViolations(page)).toEqual([]);
    expect(offsite).toEqual([]);
    expect(problems).toEqual([]);
    await page.screenshot({ path: join(repoRoot, 'artifacts', 'docs-page.png') });
    await page.close();
  });
});
