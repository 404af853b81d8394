import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { fixture, form, startTestApi, waitFor } from './harness.js';
import { repoRoot } from '../../../test-support/paths.js';
import { deleteKeysUnder, keysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const inspect = new Redis(testRedisUrl);
const prefixes: string[] = [];
const modelDir = mkdtempSync(join(tmpdir(), 'maskq-model-'));
writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ name: 'face-mask', version: '9.9.9', inputs: [] }));
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeysUnder(inspect, prefix);
  inspect.disconnect();
  rmSync(modelDir, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('/health 200; /ready 200 with Redis up and a model, 503 without a model', async () => {
    const api = await startTestApi({ prefix: uniquePrefix('api-ready') });
    const noModel = await startTestApi({ prefix: uniquePrefix('api-ready'), model: null });
    try {
      const health = await fetch(`${api.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${api.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok', model: { name: 'face-mask', version: '1.0.0' } });
      const notReady = await fetch(`${noModel.url}/ready`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ status: 'not_ready', redis: 'ok', model: null });
    } finally {
      await api.close();
      await noModel.close();
    }
  });

  it('with Redis unreachable: /ready 503 and POST /v1/jobs 503 unavailable quickly, no hang', async () => {
    const prefix = uniquePrefix('api-down');
    const api = await startTestApi({ prefix, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const health = await fetch(`${api.url}/health`);
      expect(health.status).toBe(200);
      let started = Date.now();
      const ready = await fetch(`${api.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', redis: 'unavailable' });
      expect(Date.now() - started).toBeLessThan(5000);

      for (const path of ['/v1/jobs', '/v1/detect']) {
        started = Date.now();
        const res = await fetch(`${api.url}${path}`, { method: 'POST', body: form([['image', fixture('mask_01.jpg'), 'a.jpg']]) });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
        expect(Date.now() - started).toBeLessThan(5000);
      }
      const get = await fetch(`${api.url}/v1/jobs/00000000-0000-4000-8000-000000000000`);
      expect(get.status).toBe(503);
    } finally {
      await api.close();
    }
    expect(await keysUnder(inspect, prefix)).toEqual([]);
  });
});

function runApi(env: Record<string, string>): { child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/api/src/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, REDIS_URL: testRedisUrl, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

describe('the API process', () => {
  it('exits non-zero with a clear message on a wrong config value', async () => {
    const { exited, output } = runApi({ PORT: 'abc', MAX_IMAGE_BYTES: '-1' });
    const code = await exited;
    expect(code).not.toBe(0);
    expect(output()).toMatch(/invalid configuration/);
    expect(output()).toMatch(/PORT/);
    expect(output()).toMatch(/MAX_IMAGE_BYTES/);
    expect(output()).not.toMatch(/at .*\.ts:\d+/);
  });

  it('starts, serves, accepts a job and stops cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix('api-proc');
    prefixes.push(prefix);
    const { child, exited, output } = runApi({ PORT: '0', QUEUE_PREFIX: prefix, MODEL_DIR: modelDir });
    try {
      const started = Date.now();
      let url: string | undefined;
      while (!url) {
        if (Date.now() - started > 30_000) throw new Error(`API did not start:\n${output()}`);
        url = /"url":"(http:\/\/[^"]+)"/.exec(output())?.[1];
        await new Promise((r) => setTimeout(r, 50));
      }
      const ready = await waitFor(async () => {
        const r = await fetch(`${url}/ready`);
        return r.status === 200 ? r : undefined;
      });
      expect(await ready.json()).toEqual({ status: 'ready', redis: 'ok', model: { name: 'face-mask', version: '9.9.9' } });
      const res = await fetch(`${url}/v1/jobs`, { method: 'POST', body: fixture('mask_01.jpg'), headers: { 'content-type': 'image/jpeg' } });
      expect(res.status).toBe(202);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await inspect.exists(`{${prefix}}:detect:wait`)).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
