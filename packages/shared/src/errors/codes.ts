/** Error codes a client can see, in API responses and in failed jobs. */
export const errorCodes = [
  // input
  'invalid_image',
  'unsupported_format',
  'image_too_large',
  'payload_too_large',
  'invalid_request',
  'invalid_metadata',
  'invalid_callback_url',
  'webhooks_disabled',
  'too_many_files',
  // resources
  'not_found',
  'conflict',
  'unauthorized',
  'rate_limited',
  'overloaded',
  'timeout',
  'expired',
  'cancelled',
  // server
  'unavailable',
  'inference_failed',
  'internal_error',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
