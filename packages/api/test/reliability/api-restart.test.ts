import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../../test-support/redis.js';
import { ApiChild, CompletionTracker, LoadGenerator, WorkerChild, fastRecoveryEnv, freePort, smallFixtures, sleep } from './support.js';

const prefix = uniquePrefix('rel-api');
const inspect = new Redis(testRedisUrl);
const cleanup: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await deleteKeysUnder(inspect, prefix);
  inspect.disconnect();
});

describe('fault: the API restarted under load', () => {
  it('SIGTERM then SIGKILL, each followed by a fresh start: every accepted job completes once', async () => {
    const env = { REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix, ...fastRecoveryEnv };
    const tracker = new CompletionTracker(testRedisUrl, prefix);
    cleanup.push(() => tracker.close());
    await tracker.waitUntilReady();
    const port = await freePort();
    let api = new ApiChild(port, env);
    const worker = new WorkerChild(env);
    cleanup.push(() => worker.dispose());
    await Promise.all([api.ready(), worker.ready()]);

    const concurrencyCutBySigkill = 2;
    const load = new LoadGenerator(() => api.url, smallFixtures(), { concurrency: 2, pauseMs: 60 });
    cleanup.push(() => load.stop());
    const restarts: Array<{ signal: string; exitCode: number | null; stopMs: number; downMs: number }> = [];
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await load.acceptedAtLeast(load.accepted().length + 15);
      const down = Date.now();
      api.kill(signal);
      const exitCode = await api.exited;
      const stopMs = Date.now() - down;
      await sleep(500);
      api = new ApiChild(port, env);
      await api.ready();
      restarts.push({ signal, exitCode, stopMs, downMs: Date.now() - down });
    }
    cleanup.push(() => api.dispose());
    await load.acceptedAtLeast(load.accepted().length + 15);
    await load.stop();

    const accepted = load.accepted();
    await tracker.allCompleted(accepted, 60_000);
    const outcomes = load.outcomes();
    console.log(`[api-restart] restarts ${JSON.stringify(restarts)}; accepted ${accepted.length}, completed ${tracker.completed.size}; answers ${JSON.stringify(outcomes)}`);

    // A graceful stop exits 0; the killed one has no exit code.
    expect(restarts.map((r) => r.exitCode)).toEqual([0, null]);
    expect(tracker.duplicates()).toEqual([]);
    expect(tracker.failed.size).toBe(0);
    expect(accepted.length).toBeGreaterThanOrEqual(45);
    // While the API was away clients saw refused connections (or a reset), never a hang or a 5xx.
    expect(load.submissions.filter((s) => s.code === 'timeout')).toEqual([]);
    expect(load.submissions.filter((s) => s.status >= 500)).toEqual([]);
    // A graceful stop answers what it has taken and closes keep-alive sockets as it goes: no
    // request is cut in flight by the SIGTERM (the SIGKILL may cut one).
    const cut = load.submissions.filter((s) => s.code?.startsWith('cut:'));
    expect(cut.length).toBeLessThanOrEqual(concurrencyCutBySigkill);
  }, 150_000);
});
