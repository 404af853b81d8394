import { describe, expect, it } from 'vitest';
import { testRedisUrl } from '../../../../test-support/redis.js';
import { ApiChild, CompletionTracker, LoadGenerator, WorkerChild, fastRecoveryEnv, freePort, smallFixtures, sleep, faultTestScope } from './support.js';

const { prefix, inspect, cleanup } = faultTestScope('rel-wkill');

describe('fault: a worker killed with SIGKILL under load', () => {
  it('every accepted job completes exactly once; a second worker takes over', async () => {
    const env = { REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix, ...fastRecoveryEnv };
    const tracker = new CompletionTracker(testRedisUrl, prefix);
    cleanup.push(() => tracker.close());
    await tracker.waitUntilReady();
    const api = new ApiChild(await freePort(), env);
    cleanup.push(() => api.dispose());
    const doomed = new WorkerChild(env);
    cleanup.push(() => doomed.dispose());
    await Promise.all([api.ready(), doomed.ready()]);

    const load = new LoadGenerator(() => api.url, smallFixtures(), { concurrency: 2, pauseMs: 80 });
    cleanup.push(() => load.stop());
    // Let the doomed worker finish some jobs, then kill it while it holds a batch.
    await load.acceptedAtLeast(30);
    while (tracker.completed.size < 10) await sleep(20);
    doomed.kill('SIGKILL');
    await doomed.exited;
    const completedBeforeKill = tracker.completed.size;

    // The queue keeps filling while no worker runs, then the survivor starts.
    await sleep(1000);
    const survivor = new WorkerChild(env);
    cleanup.push(() => survivor.dispose());
    await survivor.ready();
    // Bounded load: a busy machine must not make the backlog grow without end.
    await load.acceptedAtLeast(Math.min(load.accepted().length + 20, 150));
    await load.stop();

    const accepted = load.accepted();
    await tracker.allCompleted(accepted, 90_000).catch(async (err: Error) => {
      const q = `{${prefix}}:detect`;
      const counts = { wait: await inspect.llen(`${q}:wait`), active: await inspect.llen(`${q}:active`), completed: await inspect.zcard(`${q}:completed`), failed: await inspect.zcard(`${q}:failed`) };
      throw new Error(`${err.message}\nqueue ${JSON.stringify(counts)}\nsurvivor: ${survivor.output()}`);
    });
    const outcomes = load.outcomes();
    console.log(`[worker-kill] accepted ${accepted.length}, completed before kill ${completedBeforeKill}, completed ${tracker.completed.size}, survivor batches ${survivor.batches().length}, answers ${JSON.stringify(outcomes)}`);

    // Every submission was accepted (a worker dying is invisible to clients).
    expect(Object.keys(outcomes)).toEqual(['202']);
    expect(accepted.length).toBeGreaterThan(30);
    expect(tracker.duplicates()).toEqual([]);
    expect(tracker.failed.size).toBe(0);
    // The survivor did the rest, including jobs the dead worker held (recovered as stalled).
    expect(survivor.batches().length).toBeGreaterThan(0);
    expect(completedBeforeKill).toBeLessThan(accepted.length);
  }, 120_000);
});
