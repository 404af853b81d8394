/**
 * A Sentinel failover under load, on real servers: 1 master, 1 replica, 3
 * sentinels. The API runs as a child process (REDIS_SENTINELS,
 * REDIS_WAIT_REPLICAS=1), and so does the real worker process (REDIS_SENTINELS). The master is SIGKILLed mid-load and later restarted empty
 * (as a supervisor would); neither the API nor the worker is restarted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeys,
  createRedis,
  loadConfig,
  type Config,
  type JobResource,
  type RedisClient,
} from '@maskq/shared';
import { fixture, form, sleep } from './harness.js';
import { WorkerChild } from '../../worker/test/support/worker-harness.js';
import { fixtureImagesDir } from '../../../test-support/paths.js';
import { spawnApi, type SpawnedApi } from './spawn-api.js';
import { redisCli, redisServerVersion, startRedisSentinel, type RedisSentinelTopology } from '../../../test-support/redis-topology.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const version = await redisServerVersion();
const image = fixture('mask_01.jpg');
const golden = (JSON.parse(readFileSync(join(fixtureImagesDir, '..', 'golden.json'), 'utf8')) as { images: Record<string, { width: number; height: number }> }).images['mask_01.jpg']!;

describe.skipIf(!version)(`Sentinel failover under load (redis-server ${version})`, () => {
  const prefix = uniquePrefix('sentinel');
  const keys = createKeys(prefix);
  const modelDir = mkdtempSync(join(tmpdir(), 'maskq-model-'));
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ name: 'face-mask', version: '1.0.0', inputs: [] }));
  let topology: RedisSentinelTopology;
  let config: Config;
  let api: SpawnedApi;
  let workerChild: WorkerChild | undefined;
  const clients: RedisClient[] = [];

  beforeAll(async () => {
    topology = await startRedisSentinel('maskq-test');
    const env = {
      REDIS_SENTINELS: topology.sentinelsEnv,
      REDIS_SENTINEL_NAME: topology.masterName,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '500',
      API_REDIS_TIMEOUT_MS: '1000',
      JOB_ATTEMPTS: '10',
      JOB_BACKOFF_MS: '200',
      QUEUE_PREFIX: prefix,
      MODEL_DIR: modelDir,
    };
    config = loadConfig(env);
    api = await spawnApi(env);
  });

  afterAll(async () => {
    await workerChild?.dispose();
    for (const client of clients) client.disconnect();
    await api?.stop();
    await topology?.stop();
    rmSync(modelDir, { recursive: true, force: true });
  });

  function client(blocking = false): RedisClient {
    const c = createRedis(config, { blocking, connectionName: 'maskq-test' });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  it('every job answered 202 completes after the master is killed; API and worker carry on by themselves', async () => {
    // The real worker process, short locks so a job active on the dead master is picked up again soon.
    workerChild = new WorkerChild({
      REDIS_URL: '',
      REDIS_SENTINELS: topology.sentinelsEnv,
      REDIS_SENTINEL_NAME: topology.masterName,
      QUEUE_PREFIX: prefix,
      LOCK_DURATION_MS: '3000',
      STALLED_INTERVAL_MS: '1000',
      MAX_STALLED_COUNT: '5',
      BATCH_MAX_SIZE: '8',
    });
    await workerChild.ready();
    const workerPid = workerChild.pid;
    const apiPid = api.child.pid;

    const accepted: string[] = [];
    const statuses = new Map<number | string, number>();
    let killedAt = 0;
    let firstAcceptedAfterKill = 0;
    let stop = false;
    const submitter = async () => {
      while (!stop) {
        let status: number | string;
        const sentAt = Date.now();
        try {
          const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', image, 'a.jpg']]) });
          status = res.status;
          const body = (await res.json()) as { id?: string; error?: { code: string } };
          if (res.status === 202) {
            accepted.push(body.id!);
            if (killedAt && sentAt > killedAt && !firstAcceptedAfterKill) firstAcceptedAfterKill = Date.now();
          } else if (res.status === 503) {
            expect(body.error?.code).toBe('unavailable');
            status = `503 ${(body.error as { message?: string } | undefined)?.message?.replace(/\d+/g, 'N') ?? ''}`;
            await sleep(50);
          }
        } catch (err) {
          status = `fetch error: ${(err as Error).message}`;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // ~50 submissions/s in all: steady load the one real worker can drain on a shared 2-core machine.
        await sleep(50);
      }
    };
    const submitters = Array.from({ length: 3 }, () => submitter());

    await sleep(1500);
    const acceptedBeforeKill = accepted.length;
    const oldMaster = topology.master.address;
    await topology.master.kill();
    killedAt = Date.now();
    // The sentinels promote the replica...
    let promotedAt = 0;
    while (!promotedAt) {
      if (Date.now() - killedAt > 20_000) throw new Error('no failover within 20 s');
      if ((await topology.currentMaster()) !== oldMaster) promotedAt = Date.now();
      else await sleep(50);
    }
    // ...and the crashed master comes back empty as a replica of the new one, as a supervisor restarts
    // it (e.g. the Bitnami chart asks the sentinels for the master at start); WAIT 1 can succeed again.
    const [newHost, newPort] = (await topology.currentMaster()).split(':');
    await topology.master.restart(['--replicaof', newHost!, newPort!]);
    // Usually ~3.5 s; a loaded CI machine can be much slower (sentinels, a full sync), so allow 40 s.
    while (!firstAcceptedAfterKill && Date.now() - killedAt < 40_000) await sleep(50);
    await sleep(1500);
    stop = true;
    await Promise.all(submitters);

    if (!firstAcceptedAfterKill) {
      // CI shows only the end of the output: everything needed to tell why goes into the failure itself.
      const lines = [`no 202 within 40 s of the kill; answers ${JSON.stringify(Object.fromEntries(statuses))}`];
      lines.push(`sentinels say ${await topology.currentMaster().catch((e: unknown) => String(e))}; /ready ${await fetch(`${api.url}/ready`).then((r) => r.text()).catch((e: unknown) => String(e))}`);
      for (const p of [topology.master, topology.replica]) {
        lines.push(`node ${p.port}: ${(await redisCli(p.port, 'ROLE').catch((e: unknown) => String(e))).replace(/\n/g, ' ')}`);
      }
      for (const s of topology.sentinels) lines.push(`sentinel ${s.port}:\n${s.log().split('\n').slice(-12).join('\n')}`);
      lines.push(`API:\n${api.output().split('\n').filter((l) => !l.includes('"msg":"request')).slice(-10).join('\n')}`);
      throw new Error(lines.join('\n'));
    }
    expect(firstAcceptedAfterKill, 'submissions resumed after the failover').toBeGreaterThan(0);
    // Every answer was 202 or a clear 503: no 500, no hang, no dropped connection.
    expect([...statuses.keys()].filter((s) => s !== 202 && !String(s).startsWith('503 '))).toEqual([]);
    expect(acceptedBeforeKill).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(acceptedBeforeKill);

    // Every 202 job completes, on the promoted master, with the original bytes.
    const pending = new Set(accepted);
    const drainStart = Date.now();
    while (pending.size > 0) {
      if (Date.now() - drainStart > 30_000) {
        const inspect = client();
        await sleep(200);
        for (const id of [...pending].slice(0, 5)) {
          const raw = await inspect.hgetall(`${keys.bullPrefix}:detect:${id}`);
          const lists: Record<string, unknown> = {};
          for (const l of ['wait', 'active', 'paused']) lists[l] = await inspect.lpos(`${keys.bullPrefix}:detect:${l}`, id);
          for (const z of ['delayed', 'completed', 'failed', 'prioritized']) lists[z] = await inspect.zscore(`${keys.bullPrefix}:detect:${z}`, id);
          lists.lock = await inspect.exists(`${keys.bullPrefix}:detect:${id}:lock`);
          console.log('worker', workerChild.output().slice(-3000), (await redisCli(topology.replica.port, 'CLIENT', 'LIST')).split('\n').map((l) => /name=(\S*).*cmd=(\S+)/.exec(l)?.slice(1).join(':')).join(' '));
        console.log('DIAG', id, JSON.stringify({ ...raw, data: undefined }), JSON.stringify(lists), await inspect.exists(keys.blob(id)));
        }
        throw new Error(`${pending.size} of ${accepted.length} accepted jobs never completed: ${[...pending].slice(0, 5).join(', ')}`);
      }
      for (const id of [...pending]) {
        const res = await fetch(`${api.url}/v1/jobs/${id}`);
        if (res.status !== 200) continue;
        const body = (await res.json()) as JobResource;
        if (body.status === 'completed') {
          expect(body.result).toMatchObject({ width: golden.width, height: golden.height });
          pending.delete(id);
        } else {
          expect(body.status).not.toBe('failed');
        }
      }
      if (pending.size > 0) await sleep(200);
    }

    // Neither process was restarted: same API and worker processes, both still serving.
    expect(api.child.pid).toBe(apiPid);
    expect(api.child.exitCode).toBeNull();
    expect(workerChild.pid).toBe(workerPid);
    expect(await Promise.race([workerChild.exited.then(() => 'exited'), sleep(10).then(() => 'running')])).toBe('running');
    expect((await fetch(`${api.url}/ready`)).status).toBe(200);

    console.log(
      `sentinel failover: ${accepted.length} jobs accepted (${acceptedBeforeKill} before the kill), all completed; ` +
        `answers ${JSON.stringify(Object.fromEntries(statuses))}; new master after ${promotedAt - killedAt} ms; ` +
        `first 202 after the kill at ${firstAcceptedAfterKill - killedAt} ms`,
    );
  }, 150_000);
});
