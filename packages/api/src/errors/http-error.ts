import { MaskqError, type ErrorCode } from '@maskq/shared';

/** A MaskqError that also says which HTTP status it answers with. */
export class HttpError extends MaskqError {
  readonly status: number;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, options);
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string, code: ErrorCode = 'invalid_request') => new HttpError(400, code, message);
export const notFound = (message = 'not found') => new HttpError(404, 'not_found', message);
export const unavailable = (message = 'the queue is unavailable, retry later', cause?: unknown) =>
  new HttpError(503, 'unavailable', message, { cause });

/** The HTTP status a failed job's error code maps to (sync endpoint). */
export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'invalid_image':
      return 422;
    case 'unsupported_format':
      return 415;
    case 'image_too_large':
    case 'payload_too_large':
      return 413;
    case 'invalid_request':
    case 'invalid_metadata':
    case 'too_many_files':
      return 400;
    case 'invalid_callback_url':
    case 'webhooks_disabled':
      return 422;
    case 'unauthorized':
      return 401;
    case 'not_found':
      return 404;
    case 'conflict':
    case 'cancelled':
      return 409;
    case 'expired':
      return 410;
    case 'rate_limited':
      return 429;
    case 'timeout':
      return 504;
    case 'overloaded':
    case 'unavailable':
      return 503;
    default:
      return 500;
  }
}
