import { randomUUID } from 'node:crypto';
import { waitForReplicas, type BlobStore, type RedisClient, type DetectJobData, type DetectQueue, type ImageFormat } from '@maskq/shared';
import { unavailable } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import type { SubmitOptions } from './submission.js';

export const detectJobName = 'detect';

export interface ImageToEnqueue {
  bytes: Buffer;
  format: ImageFormat;
  /** metadata, callback, max_wait_ms, annotate as the client asked */
  options?: SubmitOptions;
  requestId?: string;
  /** Principal.owner of the API key that submitted it */
  owner?: string;
}

export interface EnqueueDeps {
  detectQueue: DetectQueue;
  blobStore: BlobStore;
  redisTimeoutMs: number;
  /** REDIS_WAIT_REPLICAS > 0: answer only once that many replicas hold the blobs and the jobs. */
  replication?: {
    replicas: number;
    timeoutMs: number;
    /** the client the queue and the blob store write with (main.ts gives both the same one) */
    redis: RedisClient;
  };
}

function jobData(image: ImageToEnqueue, blobKey: string, submittedAt: number): DetectJobData {
  const data: DetectJobData = { blobKey, format: image.format, bytes: image.bytes.length, submittedAt };
  const options = image.options ?? {};
  if (options.metadata) data.metadata = options.metadata;
  if (image.requestId) data.requestId = image.requestId;
  if (image.owner) data.owner = image.owner;
  if (options.maxWaitMs !== undefined) data.deadline = submittedAt + options.maxWaitMs;
  if (options.annotate !== undefined) data.annotate = options.annotate;
  if (options.callback) data.callback = options.callback;
  return data;
}

/** Deletes blobs whose jobs never made it into the queue; best effort (they expire anyway). */
async function dropBlobs(deps: EnqueueDeps, keys: string[]): Promise<void> {
  await withRedis(deps.redisTimeoutMs, () => deps.blobStore.delete(keys)).catch(() => undefined);
}

/**
 * Writes the bytes (with their TTL), then the job that points at them. If the
 * job cannot be added the blob is deleted, so nothing is left half-accepted.
 */
export async function enqueueImages(deps: EnqueueDeps, images: ImageToEnqueue[], jobIds?: string[], submittedAt = Date.now()): Promise<string[]> {
  if (images.length === 0) return [];
  const ids = jobIds ?? images.map(() => randomUUID());
  const blobKeys = await withRedis(deps.redisTimeoutMs, () =>
    images.length === 1
      ? deps.blobStore.put(ids[0]!, images[0]!.bytes).then((key) => [key])
      : deps.blobStore.putMany(images.map((image, i) => ({ jobId: ids[i]!, bytes: image.bytes }))),
  );
  try {
    await withRedis(deps.redisTimeoutMs, async () => {
      if (images.length === 1) {
        await deps.detectQueue.add(detectJobName, jobData(images[0]!, blobKeys[0]!, submittedAt), { jobId: ids[0]! });
      } else {
        // One round trip for the whole batch.
        await deps.detectQueue.addBulk(
          images.map((image, i) => ({
            name: detectJobName,
            data: jobData(image, blobKeys[i]!, submittedAt),
            opts: { jobId: ids[i]! },
          })),
        );
      }
    });
  } catch (err) {
    await dropBlobs(deps, blobKeys);
    throw err;
  }
  await confirmReplicated(deps, ids, blobKeys);
  return ids;
}

/**
 * Redis replicates asynchronously: a write the master acknowledged can vanish
 * in a failover. WAIT on the connection that wrote (on a Cluster: each master
 * that got a blob, and the one owning the queue's `{prefix}` slot) blocks until
 * the replicas have everything written so far. Not confirmed in time: the
 * submission is withdrawn (best effort) and answered 503, so a 202 always
 * means "on the master and on n replicas".
 */
async function confirmReplicated(deps: EnqueueDeps, ids: string[], blobKeys: string[]): Promise<void> {
  const replication = deps.replication;
  if (!replication || replication.replicas <= 0) return;
  let acked = -1;
  try {
    acked = await withRedis(deps.redisTimeoutMs + replication.timeoutMs, () =>
      waitForReplicas(replication.redis, [deps.detectQueue.keys.wait!, ...blobKeys], replication.replicas, replication.timeoutMs),
    );
  } catch {
    // fall through: unconfirmed
  }
  if (acked >= replication.replicas) return;
  // A job a worker already holds cannot be removed (it runs anyway); its blob stays for it.
  const removed = await withRedis(deps.redisTimeoutMs, () => Promise.all(ids.map((id) => deps.detectQueue.remove(id)))).catch(() => [] as number[]);
  await dropBlobs(deps, blobKeys.filter((_, i) => removed[i] === 1));
  throw unavailable(`Redis replication not confirmed (${Math.max(acked, 0)} of ${replication.replicas} replicas in ${replication.timeoutMs} ms), retry later`);
}
