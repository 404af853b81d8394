import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureImagesDir } from '../../../../test-support/paths.js';
import { keysUnder, testRedisUrl } from '../../../../test-support/redis.js';
import { ApiChild, CompletionTracker, WorkerChild, freePort, sleep, smallFixtures, faultTestScope } from './support.js';

const { prefix, inspect, cleanup } = faultTestScope('rel-data');

const magics = [Buffer.from([0xff, 0xd8, 0xff]), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];

/** Every value stored under the prefix, whatever the key type, as raw bytes. */
async function allValues(): Promise<Array<{ key: string; value: Buffer }>> {
  const out: Array<{ key: string; value: Buffer }> = [];
  for (const key of await keysUnder(inspect, prefix)) {
    const type = await inspect.type(key);
    const push = (values: Buffer[]) => out.push(...values.map((value) => ({ key, value })));
    if (type === 'string') push([(await inspect.getBuffer(key))!]);
    else if (type === 'hash') push(Object.values(await inspect.hgetallBuffer(key)));
    else if (type === 'list') push(await inspect.lrangeBuffer(key, 0, -1));
    else if (type === 'set') push(await inspect.smembersBuffer(key));
    else if (type === 'zset') push(await inspect.zrangeBuffer(key, 0, -1));
    else if (type === 'stream') for (const [, fields] of await inspect.xrangeBuffer(key, '-', '+')) push(fields);
  }
  return out;
}

describe('data: no image bytes stay in Redis; results expire after RESULT_TTL_SECONDS', () => {
  it('blobs go when jobs finish; job records go after their TTL even when no later job completes', async () => {
    const env = { REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix, RESULT_TTL_SECONDS: '2', FAILED_TTL_SECONDS: '2', BATCH_MAX_SIZE: '4' };
    const tracker = new CompletionTracker(testRedisUrl, prefix);
    cleanup.push(() => tracker.close());
    await tracker.waitUntilReady();
    const api = new ApiChild(await freePort(), env);
    cleanup.push(() => api.dispose());
    const worker = new WorkerChild(env);
    cleanup.push(() => worker.dispose());
    await Promise.all([api.ready(), worker.ready()]);

    const fixtures = smallFixtures();
    const truncated = readFileSync(join(fixtureImagesDir, 'mask_02.jpg')).subarray(0, 3000);
    const ids: string[] = [];
    for (const [i, image] of [...fixtures, { name: 'cut.jpg', bytes: truncated, type: 'image/jpeg' }].entries()) {
      const body = new FormData();
      body.append('image', new Blob([image.bytes], { type: image.type }), image.name);
      body.append('metadata', JSON.stringify({ camera: `cam-${i}` }));
      const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const good = ids.slice(0, -1);
    const bad = ids.at(-1)!;
    const until = Date.now() + 60_000;
    while (!(good.every((id) => tracker.completed.has(id)) && tracker.failed.has(bad))) {
      if (Date.now() > until) throw new Error(`jobs did not finish: ${tracker.completed.size} completed, ${tracker.failed.size} failed`);
      await sleep(20);
    }
    const finishedAt = Date.now();
    expect(tracker.failed.get(bad)).toMatch(/^invalid_image/);

    // Right after processing: no blob, and no value anywhere that holds image bytes.
    await sleep(300);
    const keysAfterProcessing = await keysUnder(inspect, prefix);
    expect(keysAfterProcessing.filter((k) => k.includes(':blob:'))).toEqual([]);
    const values = await allValues();
    expect(values.filter(({ value }) => value.length > 16 * 1024).map((v) => v.key)).toEqual([]);
    expect(values.filter(({ value }) => magics.some((m) => value.includes(m))).map((v) => v.key)).toEqual([]);
    const jobRecordsAfterProcessing = keysAfterProcessing.filter((k) => ids.some((id) => k.endsWith(`:detect:${id}`)));
    expect(jobRecordsAfterProcessing.length).toBeGreaterThan(0);

    // After RESULT_TTL_SECONDS (plus the cleaner's interval), every record is gone, although no
    // job completed after these: BullMQ's own age-based removal only runs on a later completion.
    const goneBy = Date.now() + 15_000;
    let left: string[];
    for (;;) {
      left = (await keysUnder(inspect, prefix)).filter((k) => ids.some((id) => k.includes(id)));
      if (left.length === 0 || Date.now() > goneBy) break;
      await sleep(200);
    }
    const goneAfterMs = Date.now() - finishedAt;
    const remaining = (await keysUnder(inspect, prefix)).map((k) => k.slice(k.indexOf('}') + 1)).sort();
    console.log(`[data] ${ids.length} jobs; records gone ${goneAfterMs} ms after the last finished (TTL 2 s); keys left: ${JSON.stringify(remaining)}`);
    expect(left).toEqual([]);
    expect(await inspect.zcard(`{${prefix}}:detect:completed`)).toBe(0);
    expect(await inspect.zcard(`{${prefix}}:detect:failed`)).toBe(0);
    const res = await fetch(`${api.url}/v1/jobs/${good[0]}`);
    expect(res.status).toBe(404);
  }, 120_000);
});
