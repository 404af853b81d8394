import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import type { AcceptedJob, BatchAccepted } from '@maskq/shared';
import { canSee } from '../auth/authenticate.js';
import type { RouteDeps } from '../deps.js';
import { HttpError, notFound } from '../errors/http-error.js';
import { toHttpError } from '../errors/error-handler.js';
import { withRedis } from '../errors/redis-guard.js';
import { enqueueImages, type ImageToEnqueue } from '../ingest/enqueue.js';
import { idempotencyHeader, readIdempotencyKey, sha256Hex } from '../ingest/idempotency.js';
import { batchImageUpload, singleImageUpload } from '../ingest/upload.js';
import { validateImage } from '../ingest/validate-image.js';
import { chargeRateLimit, admitSubmission } from '../limits/submit-guards.js';
import { findJob, jobLink, jobResourceFor, requireJob } from '../jobs/lookup.js';

type BatchEntry = BatchAccepted['jobs'][number];

export const acceptedBody = (id: string): AcceptedJob => ({ id, status: 'queued', links: { self: jobLink(id) } });

/** Owner scope of idempotency keys: the API key's owner id, or one shared scope without keys. */
const idempotencyScope = (req: Request) => req.principal?.owner ?? 'public';

export function jobsRouter(deps: RouteDeps): Router {
  const { config } = deps;
  const router = Router();
  const enqueueDeps = { detectQueue: deps.detectQueue, blobStore: deps.blobStore, redisTimeoutMs: config.API_REDIS_TIMEOUT_MS, replication: { replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS, redis: deps.redis } };
  const admit = admitSubmission(deps);

  router.post('/v1/jobs/batch', admit, batchImageUpload(config), async (req, res) => {
    const uploads = req.uploads ?? [];
    // One token per image: the first was taken before the body was read.
    await chargeRateLimit(deps, req, uploads.length - 1);
    const options = await deps.parseSubmission(req.submitFields ?? {});
    const entries: BatchEntry[] = [];
    const accepted: Array<{ index: number; image: ImageToEnqueue }> = [];
    uploads.forEach((upload, index) => {
      try {
        const format = validateImage(upload.bytes, config.MAX_IMAGE_BYTES);
        accepted.push({ index, image: { bytes: upload.bytes, format, options, requestId: String(req.id), owner: req.principal?.owner } });
      } catch (err) {
        const httpError = toHttpError(err);
        entries[index] = { index, filename: upload.filename, error: { code: httpError.code, message: httpError.message } };
      }
    });
    const ids = await enqueueImages(enqueueDeps, accepted.map((a) => a.image));
    deps.metrics.submit.recordSubmitted('detect_batch', ids.length);
    accepted.forEach(({ index }, i) => {
      entries[index] = { index, ...acceptedBody(ids[i]!) };
    });
    res.status(202).json({ jobs: entries } satisfies BatchAccepted);
  });

  router.post('/v1/jobs', admit, singleImageUpload(config, ['image']), async (req, res) => {
    const upload = req.upload!;
    const idempotencyKey = readIdempotencyKey(req.headers[idempotencyHeader]);
    const format = validateImage(upload.bytes, config.MAX_IMAGE_BYTES);
    const options = await deps.parseSubmission(req.submitFields ?? {});
    const image: ImageToEnqueue = { bytes: upload.bytes, format, options, requestId: String(req.id), owner: req.principal?.owner };

    let id: string = randomUUID();
    if (idempotencyKey !== undefined) {
      const scope = idempotencyScope(req);
      const hash = sha256Hex(upload.bytes);
      const claim = await withRedis(config.API_REDIS_TIMEOUT_MS, () => deps.idempotency.claim(scope, idempotencyKey, { hash, jobId: id }));
      if (!claim.claimed) {
        if (claim.record.hash !== hash) {
          throw new HttpError(409, 'conflict', 'this Idempotency-Key was used with a different image in the last 24 h');
        }
        id = claim.record.jobId;
        res.status(200).location(jobLink(id)).set('Idempotent-Replayed', 'true').json(acceptedBody(id));
        return;
      }
      try {
        await enqueueImages(enqueueDeps, [image], [id]);
      } catch (err) {
        await withRedis(config.API_REDIS_TIMEOUT_MS, () => deps.idempotency.release(scope, idempotencyKey, id)).catch(() => undefined);
        throw err;
      }
    } else {
      await enqueueImages(enqueueDeps, [image], [id]);
    }
    deps.metrics.submit.recordSubmitted('detect');
    res.status(202).location(jobLink(id)).json(acceptedBody(id));
  });

  router.get('/v1/jobs/:id', async (req, res) => {
    const { job, state } = await requireJob(deps, req.params.id);
    if (state === 'unknown' || !canSee(req, job.data.owner)) throw notFound(`no job ${req.params.id}`);
    res.json(await jobResourceFor(deps, job, state));
  });

  router.delete('/v1/jobs/:id', async (req, res) => {
    const id = req.params.id;
    const found = await findJob(deps, id);
    if (!found || found.state === 'unknown' || !canSee(req, found.job.data.owner)) throw notFound(`no job ${id}`);
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
