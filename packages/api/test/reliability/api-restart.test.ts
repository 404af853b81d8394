import { describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../../../test-support/redis.js';
import { ApiChild, CompletionTracker, LoadGenerator, WorkerChild, fastRecoveryEnv, freePort, smallFixtures, sleep, faultTestScope } from './support.js';

const { prefix, cleanup } = faultTestScope('rel-api');

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

    const load = new LoadGenerator(() => api.url, smallFixtures(), { concurrency: 2, pauseMs: 60 });
    cleanup.push(() => load.stop());
    const restarts: Array<{ signal: string; at: number; exitCode: number | null; stopMs: number; downMs: number }> = [];
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await load.acceptedAtLeast(load.accepted().length + 15);
      const down = Date.now();
      api.kill(signal);
      const exitCode = await api.exited;
      const stopMs = Date.now() - down;
      await sleep(500);
      api = new ApiChild(port, env);
      await api.ready();
      restarts.push({ signal, at: down, exitCode, stopMs, downMs: Date.now() - down });
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
    // Requests cut in flight (reset / socket closed), by the restart they fell in. Reported, not
    // asserted: a keep-alive socket closed just as the client reuses it is a race of HTTP itself
    // (clients retry with an Idempotency-Key); what must hold is above: no accepted job is lost.
    const cutIn = (signal: string) => {
      const r = restarts.find((x) => x.signal === signal)!;
      return load.submissions.filter((s) => s.code?.startsWith('cut:') && s.at + load.startedAt >= r.at - 100 && s.at + load.startedAt <= r.at + r.downMs).length;
    };
    console.log(`[api-restart] requests cut in flight: SIGTERM ${cutIn('SIGTERM')}, SIGKILL ${cutIn('SIGKILL')}, total ${load.submissions.filter((s) => s.code?.startsWith('cut:')).length}`);
  }, 150_000);
});
