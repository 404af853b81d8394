import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '@maskq/shared';
import { fixture, form, startTestApi, type TestApi } from './harness.js';
import { repoRoot } from '../../../test-support/paths.js';
import { uniquePrefix } from '../../../test-support/redis.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('keda') });
});
afterAll(async () => {
  await api?.close();
});

describe('the list KEDA scales workers on', () => {
  it('holds exactly the jobs submitted through the API while no worker runs (LLEN, as KEDA reads it)', async () => {
    const single = 3;
    for (let i = 0; i < single; i++) {
      const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', fixture('mask_01.jpg'), 'a.jpg']]) });
      expect(res.status).toBe(202);
    }
    const batch = await fetch(`${api.url}/v1/jobs/batch`, {
      method: 'POST',
      body: form([
        ['images', fixture('mask_02.jpg'), 'b.jpg'],
        ['images', fixture('nomask_01.jpg'), 'c.jpg'],
      ]),
    });
    expect(batch.status).toBe(202);
    expect(await api.inspect.llen(api.keys.detectWaitList())).toBe(single + 2);
  });

  it('is the key every ScaledObject watches, for the deployed QUEUE_PREFIX', () => {
    const configMap = parseAllDocuments(readFileSync(join(repoRoot, 'k8s', 'base', 'configmap.yaml'), 'utf8'))
      .map((d) => d.toJSON() as { kind?: string; data?: Record<string, string> })
      .find((d) => d.kind === 'ConfigMap');
    const prefix = configMap?.data?.QUEUE_PREFIX ?? 'maskq';
    const scaled = readFileSync(join(repoRoot, 'k8s', 'base', 'keda.yaml'), 'utf8');
    const listNames = [...scaled.matchAll(/listName:\s*"?([^"\n]+)"?/g)].map((m) => m[1]);
    expect(listNames.length).toBeGreaterThanOrEqual(2);
    for (const name of listNames) expect(name).toBe(createKeys(prefix).detectWaitList());
  });
});
