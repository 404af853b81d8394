import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import type { ErrorBody } from '@maskq/shared';
import { isMaskqError } from '@maskq/shared';
import { HttpError, statusForCode } from './http-error.js';
import { isRedisUnavailable } from './redis-guard.js';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/** Turns anything thrown by a route or middleware into an HttpError a client can act on. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isMaskqError(err)) return new HttpError(statusForCode(err.code), err.code, err.message, { cause: err });
  if (err instanceof multer.MulterError) {
    switch (err.code) {
      case 'LIMIT_FILE_SIZE':
        return new HttpError(413, 'payload_too_large', 'the image is larger than the allowed size', { cause: err });
      case 'LIMIT_UNEXPECTED_FILE':
      case 'LIMIT_FILE_COUNT':
        return new HttpError(400, 'invalid_request', `unexpected file${err.field ? ` in field "${err.field}"` : ''}: send the number of files this endpoint takes, in its field`, { cause: err });
      case 'LIMIT_FIELD_COUNT':
      case 'LIMIT_PART_COUNT':
        return new HttpError(400, 'invalid_request', 'too many form fields or parts in the multipart body', { cause: err });
      case 'LIMIT_FIELD_KEY':
        return new HttpError(400, 'invalid_request', 'a form field name is too long', { cause: err });
      case 'LIMIT_FIELD_VALUE':
        if (err.field === 'metadata') return new HttpError(400, 'invalid_metadata', 'metadata is too large', { cause: err });
        return new HttpError(400, 'invalid_request', `field "${err.field ?? '?'}" is too long`, { cause: err });
      default:
        return new HttpError(400, 'invalid_request', `malformed multipart body (${err.code})`, { cause: err });
    }
  }
  const bodyError = err as BodyParserError;
  if (bodyError && typeof bodyError.type === 'string') {
    switch (bodyError.type) {
      case 'entity.too.large':
        return new HttpError(413, 'payload_too_large', 'the request body is larger than the allowed size', { cause: err });
      case 'entity.parse.failed':
        return new HttpError(400, 'invalid_request', 'the body could not be parsed', { cause: err });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new HttpError(415, 'invalid_request', 'unsupported content encoding', { cause: err });
      case 'request.aborted':
        return new HttpError(400, 'invalid_request', 'request aborted', { cause: err });
      default:
        if (bodyError.status && bodyError.status >= 400 && bodyError.status < 500) {
          return new HttpError(bodyError.status, 'invalid_request', 'invalid request body', { cause: err });
        }
    }
  }
  // busboy's own parse errors ("Unexpected end of form", "Malformed part header", ...)
  if (err instanceof Error && /^(Unexpected end of form|Malformed|Multipart:|Unexpected end of multipart)/.test(err.message)) {
    return new HttpError(400, 'invalid_request', 'malformed multipart body', { cause: err });
  }
  if (isRedisUnavailable(err)) return new HttpError(503, 'unavailable', 'the queue is unavailable, retry later', { cause: err });
  return new HttpError(500, 'internal_error', 'internal error', { cause: err });
}

/** The one error middleware: JSON `{ error: { code, message } }`, never a stack trace or HTML. */
export function errorHandler(): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) {
      req.log?.error({ err }, 'request failed');
    } else {
      req.log?.debug({ code: httpError.code, message: httpError.message }, 'request rejected');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const body: ErrorBody = { error: { code: httpError.code, message: httpError.message } };
    if (httpError.status === 503) res.setHeader('Retry-After', '1');
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    res.status(httpError.status).json(body);
  };
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  };
}
