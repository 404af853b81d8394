import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import { withRedis } from '../errors/redis-guard.js';

/** `/health`: the process answers. `/ready`: Redis answers PING and the served model is known. */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    let redis: 'ok' | 'unavailable' = 'unavailable';
    try {
      const pong = await withRedis(Math.min(deps.config.API_REDIS_TIMEOUT_MS, 1000), () => deps.redis.ping());
      if (pong === 'PONG') redis = 'ok';
    } catch {
      redis = 'unavailable';
    }
    const ready = redis === 'ok' && deps.model !== undefined;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      redis,
      model: deps.model ? { name: deps.model.name, version: deps.model.version } : null,
    });
  });

  return router;
}
