import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './errors/error-handler.js';
import { annotatedRouter } from './routes/annotated.js';
import { detectRouter } from './routes/detect.js';
import { healthRouter } from './routes/health.js';
import { jobEventsRouter } from './routes/job-events.js';
import { jobsRouter } from './routes/jobs.js';

export type { AppDeps, ApiConfig } from './deps.js';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the ingest API from its dependencies; holds no state of its own beyond them. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(
    pinoHttp({
      logger: deps.logger,
      // Reuse a caller's request id when it is sane, so logs correlate across services.
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );

  app.use(healthRouter(deps));
  app.use(jobsRouter(deps));
  app.use(annotatedRouter(deps));
  app.use(jobEventsRouter(deps));
  app.use(detectRouter(deps));

  app.use(notFoundHandler());
  app.use(errorHandler());
  return app;
}
