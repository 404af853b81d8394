import { afterAll, describe, expect, it } from 'vitest';
import { createDetectQueue, createKeys, createRedis, loadConfig } from '@maskq/shared';
import { uniquePrefix } from '../../../../test-support/redis.js';
import { ApiChild, CompletionTracker, LoadGenerator, RedisServer, WorkerChild, fastRecoveryEnv, freePort, smallFixtures, sleep } from './support.js';

const prefix = uniquePrefix('rel-redis');
const cleanup: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('fault: Redis restarted under load (AOF, appendfsync always)', () => {
  it('API and worker reconnect by themselves; every job accepted completes; the outage answers 503 quickly', async () => {
    // Our own server: the shared one on 6379 has no persistence and must never be restarted.
    const redis = await RedisServer.start();
    cleanup.push(() => redis.dispose());
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, API_REDIS_TIMEOUT_MS: '1000', ...fastRecoveryEnv };
    const api = new ApiChild(await freePort(), env);
    cleanup.push(() => api.dispose());
    const worker = new WorkerChild(env);
    cleanup.push(() => worker.dispose());
    await Promise.all([api.ready(), worker.ready()]);

    const load = new LoadGenerator(() => api.url, smallFixtures(), { concurrency: 2, pauseMs: 50, timeoutMs: 5000 });
    cleanup.push(() => load.stop());
    await load.acceptedAtLeast(20);

    const outageStart = Date.now();
    await redis.kill();
    const acceptedBeforeRestart = load.accepted();
    await sleep(4000);
    await redis.start();
    const outageMs = Date.now() - outageStart;
    const sentDuringOutage = load.submissions.filter((s) => s.at >= outageStart - load.startedAt && s.at < outageStart - load.startedAt + outageMs);

    // After the restart the API takes submissions again without being restarted.
    const acceptedAtRestart = load.accepted().length;
    await load.acceptedAtLeast(acceptedAtRestart + 10, 30_000);
    await load.stop();

    const accepted = load.accepted();
    const config = loadConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
    const connection = createRedis(config, { blocking: true });
    const queue = createDetectQueue({ connection, keys: createKeys(prefix), config });
    cleanup.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    const until = Date.now() + 60_000;
    let states: string[];
    for (;;) {
      states = await Promise.all(accepted.map((id) => queue.getJobState(id)));
      if (states.every((s) => s === 'completed' || s === 'failed' || s === 'unknown') || Date.now() > until) break;
      await sleep(250);
    }
    const byState: Record<string, number> = {};
    for (const s of states) byState[s] = (byState[s] ?? 0) + 1;
    const unavailable = sentDuringOutage.filter((s) => s.status === 503 && s.code === 'unavailable');
    console.log(
      `[redis-restart] outage ${outageMs} ms; accepted before ${acceptedBeforeRestart.length}, total ${accepted.length}; ` +
        `requests during outage ${sentDuringOutage.length} (503 unavailable: ${unavailable.length}, slowest ${Math.max(0, ...sentDuringOutage.map((s) => s.ms))} ms); ` +
        `job states ${JSON.stringify(byState)}; answers ${JSON.stringify(load.outcomes())}`,
    );

    expect(byState).toEqual({ completed: accepted.length });
    // During the outage: typed 503s, each within the client timeout (no hang), nothing else.
    expect(unavailable.length).toBeGreaterThan(0);
    expect(sentDuringOutage.filter((s) => s.status !== 503 && s.status !== 202)).toEqual([]);
    expect(load.submissions.filter((s) => s.status === 0)).toEqual([]);
    expect(Math.max(...load.submissions.map((s) => s.ms))).toBeLessThan(5000);
    expect(Object.keys(load.outcomes()).sort()).toEqual(['202', '503 unavailable']);
    // Both processes stayed up through it.
    expect((await fetch(`${api.url}/ready`)).status).toBe(200);
    expect(worker.batches().length).toBeGreaterThan(0);

    // Exactly once: one `completed` event per job in the stream, which survived the restart (AOF).
    const tracker = new CompletionTracker(redis.url, prefix);
    cleanup.push(() => tracker.close());
    await tracker.waitUntilReady();
    await tracker.allCompleted(accepted, 10_000);
    expect(tracker.duplicates()).toEqual([]);
  }, 150_000);
});
