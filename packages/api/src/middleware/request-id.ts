import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by requestId() before any route runs. */
    id: string;
  }
}

export const requestIdHeader = 'X-Request-Id';

/** Ids we accept from a client or proxy: short and safe to put in logs and headers. */
const saneRequestId = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's id if it looks sane, else a new UUID. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value !== undefined && saneRequestId.test(value) ? value : randomUUID();
}

/**
 * Gives every request an id: `req.id`, echoed as `X-Request-Id`. Mount it
 * before requestLogger, whose lines carry it as `req.id`; the API also copies
 * it into DetectJobData.requestId so worker and webhook logs carry the same id.
 */
export function requestId() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const id = resolveRequestId(req.headers['x-request-id']);
    req.id = id;
    res.setHeader(requestIdHeader, id);
    next();
  };
}

/** The id `requestId()` gave this request. */
export function getRequestId(req: Request): string | undefined {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}
