import { errorCodes, type ErrorCode } from '../errors/codes.js';

/**
 * BullMQ keeps only a string for a failed job. We store `code: message` so the
 * API can give clients the typed error the worker raised.
 */
export function formatFailedReason(code: ErrorCode, message: string): string {
  return `${code}: ${message}`;
}

export function parseFailedReason(reason: string | undefined): { code: ErrorCode; message: string } {
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(reason ?? '');
  if (match && (errorCodes as readonly string[]).includes(match[1]!)) {
    return { code: match[1] as ErrorCode, message: match[2]! };
  }
  return { code: 'internal_error', message: 'processing failed' };
}
