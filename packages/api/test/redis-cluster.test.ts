/**
 * The whole path on a real 3-master Redis Cluster: the API as a child process
 * (REDIS_CLUSTER_NODES), the real worker process (ONNX inference) on the same
 * cluster (it also enqueues and sends the webhooks), a webhook receiver on loopback.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobStore,
  createDetectQueue,
  createKeys,
  createRedis,
  keySlot,
  loadConfig,
  readWebhookState,
  type Config,
  type JobResource,
  type RedisClient,
  waitForReplicas,
  writersOf,
} from '@maskq/shared';
import type { HttpError } from '../src/errors/http-error.js';
import { enqueueImages } from '../src/ingest/enqueue.js';
import { WorkerChild } from '../../worker/test/support/worker-harness.js';
import { fixtureImagesDir } from '../../../test-support/paths.js';
import { fixture, form, readSse, waitFor, type SseEvent } from './harness.js';
import { redisServerVersion, startRedisCluster, type RedisClusterTopology } from '../../../test-support/redis-topology.js';
import { spawnApi, type SpawnedApi } from './spawn-api.js';
import { uniquePrefix } from '../../../test-support/redis.js';

const version = await redisServerVersion();
const images = ['mask_01.jpg', 'mask_02.jpg', 'mask_03.jpg', 'nomask_01.jpg', 'nomask_02.jpg', 'nomask_03.jpg', 'mask_04.jpg', 'nomask_04.jpg', 'mask_05.jpg', 'nomask_05.jpg', 'mask_06.jpg', 'nomask_06.jpg'];

describe.skipIf(!version)(`maskq on a 3-master Redis Cluster (redis-server ${version})`, () => {
  const prefix = uniquePrefix('cluster');
  const keys = createKeys(prefix);
  const modelDir = mkdtempSync(join(tmpdir(), 'maskq-model-'));
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ name: 'face-mask', version: '1.0.0', inputs: [] }));
  let cluster: RedisClusterTopology;
  let config: Config;
  let env: Record<string, string>;
  let api: SpawnedApi;
  let receiver: Server;
  let receiverUrl: string;
  const deliveries: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const clients: RedisClient[] = [];
  let workerChild: WorkerChild | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    env = {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      QUEUE_PREFIX: prefix,
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_BACKOFF_BASE_MS: '100',
      MODEL_DIR: modelDir,
      RATE_LIMIT_PER_SECOND: '1000',
    };
    config = loadConfig(env);
    api = await spawnApi(env);
  });

  afterAll(async () => {
    await workerChild?.dispose();
    for (const client of clients) client.disconnect();
    await api?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    await cluster?.stop();
    rmSync(modelDir, { recursive: true, force: true });
  });

  async function client(blocking = false): Promise<RedisClient> {
    const c = createRedis(config, { blocking });
    c.on('error', () => undefined);
    clients.push(c);
    if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
    return c;
  }

  it('submits, spreads blobs over the masters, processes, streams events and delivers a webhook', async () => {
    expect(await (await fetch(`${api.url}/ready`)).json()).toMatchObject({ status: 'ready', redis: 'ok' });

    // One batch and one single submission with a callback, through the real API.
    const batchBody = form(images.map((name) => ['images', fixture(name), name] as [string, Buffer, string]));
    // A fresh cluster's slot map can still be settling: 503 means "retry later", and a client does.
    let batch = await fetch(`${api.url}/v1/jobs/batch`, { method: 'POST', body: batchBody });
    for (let retry = 0; batch.status === 503 && retry < 10; retry++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      batch = await fetch(`${api.url}/v1/jobs/batch`, { method: 'POST', body: batchBody });
    }
    expect(batch.status, batch.status === 202 ? '' : `${await batch.clone().text()}\nAPI:\n${api.output().slice(-3000)}`).toBe(202);
    const batchIds = ((await batch.json()) as { jobs: Array<{ id: string }> }).jobs.map((j) => j.id);
    expect(batchIds).toHaveLength(images.length);
    const single = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'idempotency-key': 'cluster-single-1' },
      body: form([['image', fixture('scene_4faces_1280x720.jpg'), 'scene.jpg'], ['callback_url', receiverUrl]]),
    });
    expect(single.status).toBe(202);
    const singleId = ((await single.json()) as { id: string }).id;
    // Idempotency (SET NX on its own `{owner:key}` slot) and the rate limit (Lua on `{owner}`) work on the cluster.
    const replay = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'idempotency-key': 'cluster-single-1' },
      body: form([['image', fixture('scene_4faces_1280x720.jpg'), 'scene.jpg'], ['callback_url', receiverUrl]]),
    });
    expect(((await replay.json()) as { id: string }).id).toBe(singleId);
    const rateKeys: string[] = [];
    for (const master of cluster.masters) {
      const direct = new Redis(master.port, '127.0.0.1');
      rateKeys.push(...(await direct.keys(`${prefix}:rate:*`)));
      direct.disconnect();
    }
    expect(rateKeys).toHaveLength(1);
    expect(Number(await (await client()).hget(rateKeys[0]!, 'tokens'))).toBeLessThan(1000);
    const ids = [...batchIds, singleId];

    // While queued: each blob sits on the master owning its own slot, and more than one master holds blobs.
    const inspect = (await client()) as Cluster;
    const firstBlob = keys.blob(ids[0]!);
    expect(Number(await inspect.call('CLUSTER', 'KEYSLOT', firstBlob))).toBe(keySlot(firstBlob));
    const holders = new Map<string, number>();
    for (const id of ids) {
      const master = await cluster.masterOfSlot(keySlot(keys.blob(id)));
      const [host, port] = master.split(':');
      const direct = new Redis(Number(port), host!);
      try {
        expect(await direct.exists(keys.blob(id)), `${keys.blob(id)} on ${master}`).toBe(1);
      } finally {
        direct.disconnect();
      }
      holders.set(master, (holders.get(master) ?? 0) + 1);
    }
    expect(holders.size, JSON.stringify([...holders])).toBeGreaterThan(1);
    // A batch read across masters (BlobStore's cluster path) returns every image's bytes, in order.
    const batchBlobs = await new BlobStore(inspect, keys, config.BLOB_TTL_SECONDS).getMany(batchIds.map((id) => keys.blob(id)));
    expect(batchBlobs.map((b) => b?.length)).toEqual(images.map((name) => fixture(name).length));
    // ...while every BullMQ key of the queue shares the `{prefix}` slot: one master holds all waiting jobs.
    const queueMaster = await cluster.masterOfSlot(keySlot(keys.detectWaitList()));
    const [qHost, qPort] = queueMaster.split(':');
    const queueNode = new Redis(Number(qPort), qHost!);
    try {
      expect(await queueNode.llen(keys.detectWaitList())).toBe(ids.length);
    } finally {
      queueNode.disconnect();
    }

    // Events of the single job, from before any worker runs.
    const statuses: string[] = [];
    const sse = readSse(`${api.url}/v1/jobs/${singleId}/events`, (event: SseEvent) => {
      statuses.push((JSON.parse(event.data) as JobResource).status);
    });
    await waitFor(async () => statuses.length > 0);

    // The real worker process (packages/worker, ONNX inference) on the cluster, and the webhook dispatcher.
    // WORKER_ROLE all: detection, annotated images, webhook enqueue and the webhook dispatcher, all on the cluster.
    const { MODEL_DIR: _apiModel, ...workerEnv } = env; // the worker loads the served model (WorkerChild's default)
    workerChild = new WorkerChild({ ...workerEnv, REDIS_URL: '', BATCH_MAX_SIZE: '8', WORKER_ROLE: 'all' });
    await workerChild.ready();

    const golden = JSON.parse(readFileSync(join(fixtureImagesDir, '..', 'golden.json'), 'utf8')) as {
      images: Record<string, { width: number; height: number; detections: unknown[] }>;
    };
    for (const [i, id] of ids.entries()) {
      const resource = await waitFor(async () => {
        const res = await fetch(`${api.url}/v1/jobs/${id}`);
        const body = (await res.json()) as JobResource;
        return body.status === 'completed' ? body : undefined;
      }, 30_000);
      // Real inference on bytes that came back from whichever master held them.
      const name = i < images.length ? images[i]! : 'scene_4faces_1280x720.jpg';
      const expected = golden.images[name]!;
      expect(resource.result, name).toMatchObject({ width: expected.width, height: expected.height });
      expect(resource.result?.detections, name).toHaveLength(expected.detections.length);
    }
    await sse;
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses[0]).toBe('queued');

    const delivery = await waitFor(async () => deliveries[0], 15_000);
    expect(delivery.headers['webhook-id']).toBeTruthy();
    expect(JSON.parse(delivery.body)).toMatchObject({ id: singleId, status: 'completed' });
    // Delivery state: the job's own hash (slot of `{jobId}`), written by the dispatcher over the Cluster client.
    const state = await waitFor(async () => {
      const current = await readWebhookState(inspect, keys, singleId);
      return current?.status === 'delivered' ? current : undefined;
    });
    expect(state).toMatchObject({ status: 'delivered', attempts: 1, last_status: 204 });
    const resource = (await (await fetch(`${api.url}/v1/jobs/${singleId}`)).json()) as JobResource;
    expect(resource.webhook).toMatchObject({ status: 'delivered', attempts: 1 });

    await workerChild.dispose();
    workerChild = undefined;
    // Blobs were deleted by the worker on whichever master held them.
    for (const id of ids) expect(await inspect.exists(keys.blob(id))).toBe(0);
  });

  it('REDIS_WAIT_REPLICAS on a cluster WAITs on each master that was written; unconfirmed submissions are withdrawn (503)', async () => {
    const redis = await client();
    const detectQueue = createDetectQueue({ connection: redis, keys, config });
    const blobStore = new BlobStore(redis, keys, config.BLOB_TTL_SECONDS);
    try {
      const ids = Array.from({ length: 8 }, () => randomUUID());
      const blobKeys = ids.map((id) => keys.blob(id));
      // The masters WAIT goes to: each blob's, plus the one owning the queue slot.
      const writers = writersOf(redis, [keys.detectWaitList(), ...blobKeys]);
      expect(writers.length).toBeGreaterThan(1);
      expect(await waitForReplicas(redis, [keys.detectWaitList(), ...blobKeys], 0, 100)).toBe(0);

      // This cluster has no replicas: WAIT 1 cannot be satisfied, so the API answers 503 and keeps nothing.
      const images = ids.map(() => ({ bytes: fixture('mask_01.jpg'), format: 'jpeg' as const }));
      const deps = { detectQueue, blobStore, redisTimeoutMs: 2000, replication: { replicas: 1, timeoutMs: 200, redis } };
      const err = await enqueueImages(deps, images, ids).then(() => undefined, (e: unknown) => e as HttpError);
      expect(err).toMatchObject({ status: 503, code: 'unavailable' });
      expect(err?.message).toMatch(/replication not confirmed \(0 of 1 replicas/);
      for (const id of ids) {
        expect(await detectQueue.getJob(id)).toBeUndefined();
        expect(await redis.exists(keys.blob(id))).toBe(0);
      }
    } finally {
      await detectQueue.close();
    }
  });
});
