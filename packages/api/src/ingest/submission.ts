import { createSubmitFieldsSchema, type Config, type DetectJobData } from '@maskq/shared';
import { HttpError } from '../errors/http-error.js';
import { parseCallbackOptions, type CallbackGuard } from './callback.js';

/** What a submission's fields ask for, checked; everything DetectJobData takes from the client. */
export interface SubmitOptions {
  metadata?: Record<string, unknown>;
  callback?: NonNullable<DetectJobData['callback']>;
  /** ms after submission by which the job must have started */
  maxWaitMs?: number;
  annotate?: boolean;
}

export type SubmissionParser = (fields: Record<string, unknown>) => Promise<SubmitOptions>;

/**
 * Validates submission fields with the shared zod schema (one source of truth
 * with the OpenAPI document), then checks the callback URL (SSRF rules, DNS).
 * Bad metadata -> 400 `invalid_metadata`; other bad fields -> 400 `invalid_request`;
 * refused callbacks -> 422 (see parseCallbackOptions).
 */
export function createSubmissionParser(config: Pick<Config, 'MAX_METADATA_BYTES'>, guard: CallbackGuard): SubmissionParser {
  const schema = createSubmitFieldsSchema(config.MAX_METADATA_BYTES);
  return async (fields) => {
    const parsed = schema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = String(issue.path[0] ?? '');
      throw new HttpError(400, field === 'metadata' ? 'invalid_metadata' : 'invalid_request', issue.message);
    }
    const { metadata, callback_url, callback_events, max_wait_ms, annotate } = parsed.data;
    const options: SubmitOptions = {};
    if (metadata) options.metadata = metadata;
    const callback = await parseCallbackOptions({ callback_url, callback_events }, guard);
    if (callback) options.callback = callback;
    if (max_wait_ms !== undefined) options.maxWaitMs = max_wait_ms;
    if (annotate !== undefined) options.annotate = annotate;
    return options;
  };
}
