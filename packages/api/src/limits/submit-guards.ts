import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import type { QueueDepth } from './queue-depth.js';
import type { RateLimiter } from './rate-limiter.js';

export interface SubmitGuardDeps {
  rateLimiter: RateLimiter;
  queueDepth: QueueDepth;
  config: { MAX_QUEUE_DEPTH: number; API_REDIS_TIMEOUT_MS: number };
}

/** Seconds a client is told to wait when the queue is over MAX_QUEUE_DEPTH. */
export const overloadedRetryAfterSeconds = 5;

/** Whose bucket a request draws from: its API key's owner id, or its address when no keys are configured. */
export function rateLimitOwner(req: Request): string {
  return req.principal?.owner ?? `ip-${req.ip ?? 'unknown'}`;
}

/** Takes `cost` tokens for this request's owner or throws 429 `rate_limited` with Retry-After. */
export async function chargeRateLimit(deps: SubmitGuardDeps, req: Request, cost: number): Promise<void> {
  if (!deps.rateLimiter.enabled) return;
  const decision = await withRedis(deps.config.API_REDIS_TIMEOUT_MS, () => deps.rateLimiter.take(rateLimitOwner(req), cost));
  if (decision.allowed) return;
  if (decision.neverFits) {
    throw new HttpError(429, 'rate_limited', `${cost} images at once is more than the rate limit allows (burst ${deps.rateLimiter.burst}); send smaller batches`, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(deps.rateLimiter.burst / deps.rateLimiter.ratePerSecond))) },
    });
  }
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  throw new HttpError(429, 'rate_limited', `rate limit of ${deps.rateLimiter.ratePerSecond} images/s exceeded; retry in ${seconds} s`, {
    headers: { 'Retry-After': String(seconds) },
  });
}

/**
 * Runs before a submission's body is read: refuses it while the queue holds
 * more than MAX_QUEUE_DEPTH waiting jobs (503 `overloaded`; the depth is a
 * cached reading, not a Redis call per request), then takes one rate-limit
 * token (a batch takes the rest once its files are counted).
 */
export function admitSubmission(deps: SubmitGuardDeps): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    void (async () => {
      const max = deps.config.MAX_QUEUE_DEPTH;
      if (max > 0 && (await deps.queueDepth.current()) >= max) {
        throw new HttpError(503, 'overloaded', 'too many jobs are waiting; retry later', {
          headers: { 'Retry-After': String(overloadedRetryAfterSeconds) },
        });
      }
      await chargeRateLimit(deps, req, 1);
    })().then(() => next(), next);
  };
}
