import type { ErrorCode } from '@maskq/shared';

export type { ErrorCode };

/** The API answered with an error body `{ error: { code, message } }` (or something unexpected). */
export class MaskqApiError extends Error {
  /** HTTP status (0 when no response came). */
  readonly status: number;
  readonly code: ErrorCode;
  /** The job the error is about, when the API named one (sync detect timeouts, failed jobs). */
  readonly jobId?: string;
  readonly requestId?: string;
  /** Seconds from `Retry-After`, when sent (429, 503). */
  readonly retryAfter?: number;
  readonly body?: unknown;

  constructor(init: { status: number; code: ErrorCode; message: string; jobId?: string; requestId?: string; retryAfter?: number; body?: unknown; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'MaskqApiError';
    this.status = init.status;
    this.code = init.code;
    if (init.jobId !== undefined) this.jobId = init.jobId;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.retryAfter !== undefined) this.retryAfter = init.retryAfter;
    if (init.body !== undefined) this.body = init.body;
  }
}

/** `wait()` or `detect()` ran out of time; the job carries on server-side. */
export class MaskqTimeoutError extends Error {
  readonly jobId?: string;
  constructor(message: string, jobId?: string) {
    super(message);
    this.name = 'MaskqTimeoutError';
    if (jobId !== undefined) this.jobId = jobId;
  }
}

/** A webhook delivery failed verification; `reason` says why. */
export class WebhookVerificationError extends Error {
  readonly reason: 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'invalid_signature' | 'invalid_payload';
  constructor(reason: WebhookVerificationError['reason'], message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

/** Builds a MaskqApiError from a non-2xx response. */
export async function errorFromResponse(res: Response): Promise<MaskqApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof err?.code === 'string' ? (err.code as ErrorCode) : res.status >= 500 ? 'internal_error' : 'invalid_request';
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${res.status}${text && typeof body === 'string' ? `: ${text.slice(0, 200)}` : ''}`;
  const jobId = typeof (body as { id?: unknown } | undefined)?.id === 'string' ? (body as { id: string }).id : undefined;
  const retry = res.headers.get('retry-after');
  return new MaskqApiError({
    status: res.status,
    code,
    message,
    ...(jobId ? { jobId } : {}),
    ...(res.headers.get('x-request-id') ? { requestId: res.headers.get('x-request-id')! } : {}),
    ...(retry && /^\d+$/.test(retry) ? { retryAfter: Number(retry) } : {}),
    body,
  });
}
