import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { createApiMetrics, createMetricsRegistry, metricsHandler } from '@maskq/shared';
import { mountQueueDashboard } from './admin/queue-dashboard.js';
import { createApiKeyring } from './auth/api-keys.js';
import { authenticate } from './auth/authenticate.js';
import type { AppDeps, RouteDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './errors/error-handler.js';
import { createCallbackGuard } from './ingest/callback.js';
import { IdempotencyStore } from './ingest/idempotency.js';
import { createSubmissionParser } from './ingest/submission.js';
import { QueueDepth } from './limits/queue-depth.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { metricsAuth } from './middleware/metrics-auth.js';
import { httpMetrics } from './middleware/http-metrics.js';
import { requestId } from './middleware/request-id.js';
import { requestLogger } from './middleware/request-logger.js';
import { annotatedRouter } from './routes/annotated.js';
import { detectRouter } from './routes/detect.js';
import { healthRouter } from './routes/health.js';
import { jobEventsRouter } from './routes/job-events.js';
import { jobsRouter } from './routes/jobs.js';
import { docsRouter } from './openapi/docs-router.js';
import { webSite } from './web/static-site.js';

export type { AppDeps, ApiConfig } from './deps.js';

/**
 * Secure headers. The CSP allows only same-origin scripts, so the web page,
 * /docs and the dashboard work when they load their assets from this server;
 * inline styles are allowed (CSS-in-JS of bull-board and API doc renderers).
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
}

/** Builds the ingest API from its dependencies; holds no state of its own beyond them. */
export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const registry = deps.metricsRegistry ?? createMetricsRegistry({ service: 'api' });
  const queues = deps.webhooksQueue ? [deps.detectQueue, deps.webhooksQueue.queue] : [deps.detectQueue];
  const metrics = createApiMetrics(registry, {
    queues,
    onError: (err, queue) => logger.warn({ err: { message: (err as Error)?.message }, queue }, 'queue metrics: cannot count jobs'),
  });
  const routeDeps: RouteDeps = {
    ...deps,
    metrics,
    rateLimiter: new RateLimiter(deps.redis, deps.keys, { ratePerSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }),
    queueDepth: new QueueDepth(deps.redis, deps.keys),
    idempotency: new IdempotencyStore(deps.redis, deps.keys),
    parseSubmission: createSubmissionParser(config, deps.callbackGuard ?? createCallbackGuard(config)),
  };
  const keyring = deps.apiKeys ?? createApiKeyring([]);

  app.use(httpMetrics(metrics.http));
  app.use(requestId());
  app.use(requestLogger({ logger, ignore: (req) => req.url === '/health' || req.url === '/ready' || req.url === '/metrics' }));
  app.use(securityHeaders());

  app.use(docsRouter());
  app.use(healthRouter(deps));
  app.get('/metrics', metricsAuth(config.METRICS_TOKEN), metricsHandler(registry));

  app.use('/v1', authenticate(keyring));
  app.use(jobsRouter(routeDeps));
  app.use(annotatedRouter(routeDeps));
  app.use(jobEventsRouter(routeDeps));
  app.use(detectRouter(routeDeps));

  mountQueueDashboard(app, { config, queues, logger });

  // Last before the 404: static files cost a filesystem lookup, which API requests must not pay.
  const site = webSite(deps.webDist);
  if (site) app.use(site);
  app.use(notFoundHandler());
  app.use(errorHandler());
  return app;
}
