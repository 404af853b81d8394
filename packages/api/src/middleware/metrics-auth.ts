import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * `/metrics` behind `Authorization: Bearer <METRICS_TOKEN>` when the token is
 * set (constant-time compare); open when it is not.
 */
export function metricsAuth(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!expected) return next();
    const match = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) return next();
    next(
      new HttpError(401, 'unauthorized', 'metrics need Authorization: Bearer <METRICS_TOKEN>', {
        headers: { 'WWW-Authenticate': 'Bearer realm="maskq-metrics"', 'Cache-Control': 'no-store' },
      }),
    );
  };
}
