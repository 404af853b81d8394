import type { ErrorCode } from './codes.js';

/**
 * An error with a stable code a client can act on. `retryable` tells the
 * worker whether another attempt could succeed (bad pixels never will).
 */
export class MaskqError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MaskqError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isMaskqError(err: unknown): err is MaskqError {
  return err instanceof MaskqError;
}
