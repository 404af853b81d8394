import { Router } from 'express';
import type { DetectJobReturn } from '@maskq/shared';
import type { AppDeps } from '../deps.js';
import { notFound } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import { findJob } from '../jobs/lookup.js';
import { canSee } from '../auth/authenticate.js';

/**
 * `GET /v1/jobs/:id/annotated.jpg`: the image with its faces boxed and
 * labelled, rendered by the worker for jobs submitted with `annotate: true`.
 * 404 `not_found` when the job does not exist, is not completed, did not ask
 * for one, or the image expired (it lives as long as the result,
 * RESULT_TTL_SECONDS).
 */
export function annotatedRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/v1/jobs/:id/annotated.jpg', async (req, res) => {
    const id = req.params.id;
    const found = await findJob(deps, id);
    if (!found || found.state !== 'completed' || !canSee(req, found.job.data.owner)) throw notFound(`no annotated image for job ${id}`);
    const key = (found.job.returnvalue as DetectJobReturn | null)?.annotatedKey;
    if (!key) throw notFound(`job ${id} was not submitted with annotate=true`);
    const jpeg = await withRedis(deps.config.API_REDIS_TIMEOUT_MS, () => deps.redis.getBuffer(key));
    if (!jpeg) throw notFound(`the annotated image of job ${id} has expired`);
    res
      .status(200)
      .set({ 'content-type': 'image/jpeg', 'content-length': String(jpeg.length), 'cache-control': 'private, max-age=300', 'x-content-type-options': 'nosniff' })
      .end(jpeg);
  });
  return router;
}
