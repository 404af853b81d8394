import { HttpError } from '../errors/http-error.js';

export type JobMetadata = Record<string, unknown>;

/**
 * Parses the client's optional `metadata`: a JSON object of at most `maxBytes`
 * (UTF-8), stored with the job and echoed back in its resource.
 */
export function parseMetadata(raw: unknown, maxBytes: number): JobMetadata | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new HttpError(400, 'invalid_metadata', 'send metadata once, as a JSON object');
  if (raw.trim() === '') return undefined;
  if (Buffer.byteLength(raw, 'utf8') > maxBytes) {
    throw new HttpError(400, 'invalid_metadata', `metadata is larger than ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'invalid_metadata', 'metadata is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_metadata', 'metadata must be a JSON object');
  }
  return value as JobMetadata;
}
