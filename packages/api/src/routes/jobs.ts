import { Router } from 'express';
import { toJobResource } from '@maskq/shared';
import type { AppDeps } from '../deps.js';
import { HttpError, notFound } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import { enqueueImages, type ImageToEnqueue } from '../ingest/enqueue.js';
import { parseMetadata } from '../ingest/metadata.js';
import { batchImageUpload, singleImageUpload } from '../ingest/upload.js';
import { validateImage } from '../ingest/validate-image.js';
import { findJob, jobLink, requireJob } from '../jobs/lookup.js';
import { toHttpError } from '../errors/error-handler.js';

type BatchEntry =
  | { index: number; id: string; status: 'queued'; links: { self: string } }
  | { index: number; filename?: string; error: { code: string; message: string } };

export function jobsRouter(deps: AppDeps): Router {
  const { config } = deps;
  const router = Router();
  const enqueueDeps = { detectQueue: deps.detectQueue, blobStore: deps.blobStore, redisTimeoutMs: config.API_REDIS_TIMEOUT_MS, replication: { replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS, redis: deps.redis } };

  router.post('/v1/jobs/batch', batchImageUpload(config), async (req, res) => {
    const metadata = parseMetadata(req.uploadMetadata, config.MAX_METADATA_BYTES);
    const uploads = req.uploads ?? [];
    const entries: BatchEntry[] = [];
    const accepted: Array<{ index: number; image: ImageToEnqueue }> = [];
    uploads.forEach((upload, index) => {
      try {
        const format = validateImage(upload.bytes, config.MAX_IMAGE_BYTES);
        accepted.push({ index, image: { bytes: upload.bytes, format, metadata, requestId: String(req.id) } });
      } catch (err) {
        const httpError = toHttpError(err);
        entries[index] = { index, filename: upload.filename, error: { code: httpError.code, message: httpError.message } };
      }
    });
    const ids = await enqueueImages(enqueueDeps, accepted.map((a) => a.image));
    accepted.forEach(({ index }, i) => {
      const id = ids[i]!;
      entries[index] = { index, id, status: 'queued', links: { self: jobLink(id) } };
    });
    res.status(202).json({ jobs: entries });
  });

  router.post('/v1/jobs', singleImageUpload(config, ['image']), async (req, res) => {
    const upload = req.upload!;
    const format = validateImage(upload.bytes, config.MAX_IMAGE_BYTES);
    const metadata = parseMetadata(upload.metadata, config.MAX_METADATA_BYTES);
    const [id] = await enqueueImages(enqueueDeps, [{ bytes: upload.bytes, format, metadata, requestId: String(req.id) }]);
    const self = jobLink(id!);
    res.status(202).location(self).json({ id, status: 'queued', links: { self } });
  });

  router.get('/v1/jobs/:id', async (req, res) => {
    const { job, state } = await requireJob(deps, req.params.id);
    if (state === 'unknown') throw notFound(`no job ${req.params.id}`);
    res.json(toJobResource(job, state));
  });

  router.delete('/v1/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const found = await findJob(deps, id);
    if (!found || found.state === 'unknown') throw notFound(`no job ${id}`);
    const { job, state } = found;
    if (state === 'active' || state === 'completed' || state === 'failed') {
      throw new HttpError(409, 'conflict', `job ${id} is ${state === 'active' ? 'processing' : 'finished'} and can no longer be cancelled`);
    }
    try {
      // BullMQ refuses to remove a job a worker holds the lock of: that is the race guard.
      await withRedis(config.API_REDIS_TIMEOUT_MS, () => job.remove());
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(409, 'conflict', `job ${id} started processing and can no longer be cancelled`, { cause: err });
    }
    await withRedis(config.API_REDIS_TIMEOUT_MS, () => deps.blobStore.delete([job.data.blobKey]));
    res.json({ id, status: 'cancelled' });
  });

  return router;
}
