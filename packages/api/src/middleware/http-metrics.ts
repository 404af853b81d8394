import type { NextFunction, Request, Response } from 'express';
import { methodLabel, statusLabel, type HttpMetrics } from '@maskq/shared';

/** Route label for requests no route matched (404s, probes of random URLs). */
export const unmatchedRoute = 'unmatched';

function joinTemplate(baseUrl: string, path: unknown): string {
  const routePath = typeof path === 'string' ? path : Array.isArray(path) ? path.join('|') : String(path);
  const template = `${baseUrl}${routePath === '/' && baseUrl ? '' : routePath}`;
  return template === '' ? '/' : template;
}

/**
 * Watches Express set `req.route` and records the template (mount path +
 * route path) at that moment. Reading `req.baseUrl` at `finish` is not
 * enough: Express 5 resets it when an error leaves a router, so a 500 from
 * `/v1/jobs/:id` would be labelled `/jobs/:id`.
 */
function trackRouteTemplate(req: Request): () => string {
  let template: string | undefined;
  let route: unknown = (req as Request & { route?: unknown }).route;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (path !== undefined) template = joinTemplate(req.baseUrl ?? '', path);
    },
  });
  return () => template ?? unmatchedRoute;
}

/**
 * Counts and times every request. Mount first (`app.use(httpMetrics(m))`),
 * before routers: labels are taken when the response finishes, once routing
 * has set `req.route` and `req.baseUrl`.
 */
export function httpMetrics(metrics: HttpMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const method = methodLabel(req.method);
    const routeTemplate = trackRouteTemplate(req);
    metrics.inFlight.inc({ method });
    let done = false;
    const finish = (aborted: boolean): void => {
      if (done) return;
      done = true;
      metrics.inFlight.dec({ method });
      const status = aborted ? 'aborted' : statusLabel(res.statusCode);
      const labels = { method, route: routeTemplate(), status };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.on('finish', () => finish(false));
    // Client went away before the response ended: status `aborted`, gauge stays right.
    res.on('close', () => finish(!res.writableFinished));
    next();
  };
}
