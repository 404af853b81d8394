import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { detectQuerySchema, parseFailedReason, type DetectJob, type DetectJobReturn } from '@maskq/shared';
import type { RouteDeps } from '../deps.js';
import { HttpError, statusForCode } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import { enqueueImages } from '../ingest/enqueue.js';
import { singleImageUpload } from '../ingest/upload.js';
import { validateImage } from '../ingest/validate-image.js';
import { jobLink } from '../jobs/lookup.js';
import { admitSubmission } from '../limits/submit-guards.js';

function parseTimeout(query: unknown, fallback: number): number {
  const parsed = detectQuerySchema.safeParse(query);
  if (!parsed.success) throw new HttpError(400, 'invalid_request', parsed.error.issues[0]!.message);
  return parsed.data.timeout_ms ?? fallback;
}

/**
 * `POST /v1/detect`: the synchronous convenience. Enqueues like `POST /v1/jobs`,
 * then waits on the JobEventsHub (no polling) for the result. On timeout the job
 * keeps running and can be polled at its link.
 */
export function detectRouter(deps: RouteDeps): Router {
  const { config } = deps;
  const router = Router();
  const enqueueDeps = { detectQueue: deps.detectQueue, blobStore: deps.blobStore, redisTimeoutMs: config.API_REDIS_TIMEOUT_MS, replication: { replicas: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS, redis: deps.redis } };

  router.post('/v1/detect', admitSubmission(deps), singleImageUpload(config, ['file', 'image']), async (req, res) => {
    const timeoutMs = parseTimeout({ timeout_ms: req.query.timeout_ms }, config.SYNC_TIMEOUT_MS);
    const upload = req.upload!;
    const format = validateImage(upload.bytes, config.MAX_IMAGE_BYTES);
    const options = await deps.parseSubmission(req.submitFields ?? {});

    const id = randomUUID();
    const disconnected = new AbortController();
    res.on('close', () => disconnected.abort());
    // Subscribe before the job exists: its completion cannot come before we listen.
    const waiter = deps.events.waitForFinish(id, timeoutMs, disconnected.signal);
    // A reader that has delivered events already will see this job's; one just starting might not.
    const readerWasLive = deps.events.live;
    const submittedAt = Date.now();
    try {
      await enqueueImages(enqueueDeps, [{ bytes: upload.bytes, format, options, requestId: String(req.id), owner: req.principal?.owner }], [id], submittedAt);
    } catch (err) {
      waiter.settle('aborted');
      throw err;
    }
    deps.metrics.submit.recordSubmitted('detect_sync');

    const readJob = () => withRedis(config.API_REDIS_TIMEOUT_MS, () => deps.detectQueue.getJob(id)) as Promise<DetectJob | undefined>;
    if (!readerWasLive) {
      // One state read after subscribing closes the gap if the event reader was not yet running.
      try {
        const early = await readJob();
        const state = early ? await withRedis(config.API_REDIS_TIMEOUT_MS, () => early.getState()) : undefined;
        if (state === 'completed' || state === 'failed') waiter.settle(state);
      } catch (err) {
        waiter.settle('aborted');
        throw err;
      }
    }
    const { outcome, event } = await waiter.finished;
    if (outcome === 'aborted') return; // client went away; the job carries on

    const links = { self: jobLink(id) };
    if (outcome === 'timeout' || outcome === 'closed') {
      res.status(504).json({
        success: false,
        id,
        error: { code: 'timeout', message: `no result within ${timeoutMs} ms; the job continues, poll ${links.self}` },
        links,
      });
      return;
    }
    const answerCancelled = () => res.status(409).json({ success: false, id, error: { code: 'cancelled', message: 'the job was cancelled' }, links });
    if (outcome === 'removed') {
      answerCancelled();
      return;
    }
    // The completed / failed event carries the result or the reason: no read of the job needed.
    let returned = outcome === 'completed' ? (event?.returnvalue as DetectJobReturn | undefined) : undefined;
    let failedReason = outcome === 'failed' ? event?.failedReason : undefined;
    if (!returned?.result && failedReason === undefined) {
      // Settled by the early state read (no event in hand): read the job once.
      const job = await readJob();
      if (!job) {
        answerCancelled();
        return;
      }
      if (job.returnvalue && (await job.isCompleted())) returned = job.returnvalue as DetectJobReturn;
      else failedReason = job.failedReason;
    }
    if (returned?.result) {
      const finishedAt = returned.finishedAt ?? Date.now();
      const processingTime = Math.max(0, finishedAt - submittedAt) / 1000;
      res.status(200).json({ success: true, id, result: returned.result, processing_time: Math.round(processingTime * 10_000) / 10_000 });
      return;
    }
    const error = parseFailedReason(failedReason);
    res.status(statusForCode(error.code)).json({ success: false, id, error, links });
  });

  return router;
}
