import { isMaskqError, type ErrorCode } from '@maskq/shared';

/** Why one job did not complete, and whether another attempt could succeed. */
export interface JobFailure {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

export function jobFailure(code: ErrorCode, message: string, retryable: boolean): JobFailure {
  return { code, message, retryable };
}

/**
 * Typed errors keep their code and retry policy; anything else is treated as
 * transient under `fallback` with a generic message (the details go to the log,
 * never to the client).
 */
export function toJobFailure(err: unknown, fallback: ErrorCode, fallbackMessage: string): JobFailure {
  if (isMaskqError(err)) return { code: err.code, message: err.message, retryable: err.retryable };
  return { code: fallback, message: fallbackMessage, retryable: true };
}
