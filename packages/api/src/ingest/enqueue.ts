import { randomUUID } from 'node:crypto';
import type { BlobStore, DetectJobData, DetectQueue, ImageFormat } from '@maskq/shared';
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
export async function enqueueImages(deps: EnqueueDeps, images: ImageToEnqueue[], jobIds?: string[]): Promise<string[]> {
  if (images.length === 0) return [];
  const ids = jobIds ?? images.map(() => randomUUID());
  const submittedAt = Date.now();
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
  return ids;
}
