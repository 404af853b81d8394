import { z } from 'zod';
import { errorCodes } from '../errors/codes.js';
import { webhookEvents, type WebhookEvent } from '../webhooks/webhook-queue.js';
import { detectionResultSchema } from './result.js';

/**
 * What the submission routes accept and answer, as zod schemas: the routes
 * validate with them and the OpenAPI document is generated from them (use
 * `z.toJSONSchema(schema, { io: 'input' })` for request fields, which arrive
 * as strings: multipart text fields, or query parameters for raw-body uploads).
 */

/** Longest `max_wait_ms`: one day. */
export const maxWaitMsLimit = 86_400_000;
/** Longest `timeout_ms` of `POST /v1/detect`. */
export const maxSyncTimeoutMs = 120_000;
/** Default MAX_METADATA_BYTES, used by the static `submitFieldsSchema`. */
export const defaultMaxMetadataBytes = 4096;

/** A decimal integer in a text field, `min`..`max`, with a message that names the field. */
const intText = (name: string, min: number, max: number) =>
  z
    .string({ error: `${name} must be an integer from ${min} to ${max}` })
    .regex(/^\d{1,10}$/, `${name} must be an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be an integer from ${min} to ${max}`);

/** `callback_events`: a comma-separated list, or the field repeated. */
export const callbackEventsSchema = z
  .union([z.string(), z.array(z.string())], { error: 'callback_events must be a list of event names' })
  .transform((raw, ctx): WebhookEvent[] => {
    const names = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const unknown = names.filter((n) => !(webhookEvents as readonly string[]).includes(n));
    if (names.length === 0 || unknown.length > 0) {
      const what = unknown.length > 0 ? `unknown callback_events ${unknown.map((n) => JSON.stringify(n.slice(0, 40))).join(', ')}` : 'callback_events is empty';
      ctx.addIssue({ code: 'custom', message: `${what}; allowed: ${webhookEvents.join(', ')}` });
      return z.NEVER;
    }
    return webhookEvents.filter((e) => names.includes(e));
  })
  .meta({ description: `Events to send to callback_url: ${webhookEvents.join(', ')} (comma-separated or repeated). Default: all.`, example: 'completed,failed' });

/** Builds the submission-fields schema for a MAX_METADATA_BYTES. */
export function createSubmitFieldsSchema(maxMetadataBytes: number = defaultMaxMetadataBytes) {
  const metadata = z
    .string({ error: 'send metadata once, as a JSON object' })
    .refine((raw) => Buffer.byteLength(raw, 'utf8') <= maxMetadataBytes, `metadata is larger than ${maxMetadataBytes} bytes`)
    .transform((raw, ctx): Record<string, unknown> | undefined => {
      if (raw.trim() === '') return undefined;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'metadata is not valid JSON' });
        return z.NEVER;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
        return z.NEVER;
      }
      return value as Record<string, unknown>;
    })
    .meta({
      description: `A JSON object (at most ${maxMetadataBytes} bytes) stored with the job and echoed in its resource. Raw-body uploads send it in the X-Maskq-Metadata header.`,
      example: '{"camera":"gate-3"}',
    });

  return z.object({
    metadata: metadata.optional(),
    callback_url: z
      .string({ error: 'callback_url must be a string' })
      .optional()
      .meta({ description: 'Absolute http(s) URL that receives a signed webhook when the job finishes (docs/webhooks.md).', example: 'https://hooks.example.com/maskq' }),
    callback_events: callbackEventsSchema.optional(),
    max_wait_ms: intText('max_wait_ms', 1, maxWaitMsLimit)
      .optional()
      .meta({ description: 'Deadline in ms from submission: a job not started by then fails with code `expired`.', example: '30000' }),
    annotate: z
      .enum(['true', 'false'], { error: 'annotate must be "true" or "false"' })
      .transform((v) => v === 'true')
      .optional()
      .meta({ description: 'Also render an annotated JPEG of the detections.', example: 'false' }),
  });
}

/** Submission fields of `POST /v1/jobs`, `/v1/jobs/batch` and `/v1/detect` (default metadata limit). */
export const submitFieldsSchema = createSubmitFieldsSchema();
export type SubmitFields = z.output<typeof submitFieldsSchema>;

/** Query of `POST /v1/detect`. */
export const detectQuerySchema = z.object({
  timeout_ms: intText('timeout_ms', 1, maxSyncTimeoutMs)
    .optional()
    .meta({ description: `How long to wait for the result, in ms (1-${maxSyncTimeoutMs}; default SYNC_TIMEOUT_MS).`, example: '10000' }),
});

export const jobLinksSchema = z.object({ self: z.string().meta({ example: '/v1/jobs/0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11' }) });

export const errorBodySchema = z
  .object({ error: z.object({ code: z.enum(errorCodes), message: z.string() }) })
  .meta({ description: 'Every error answer', example: { error: { code: 'invalid_request', message: 'max_wait_ms must be an integer from 1 to 86400000' } } });

/** 202 of `POST /v1/jobs` (and 200 of an idempotent replay). */
export const acceptedJobSchema = z
  .object({ id: z.string(), status: z.literal('queued'), links: jobLinksSchema })
  .meta({
    description: 'The job was queued; poll links.self, listen on links.self + "/events", or wait for the webhook.',
    example: { id: '0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11', status: 'queued', links: { self: '/v1/jobs/0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11' } },
  });
export type AcceptedJob = z.infer<typeof acceptedJobSchema>;

export const batchEntrySchema = z.union([
  acceptedJobSchema.extend({ index: z.number().int().nonnegative() }),
  z.object({ index: z.number().int().nonnegative(), filename: z.string().optional(), error: errorBodySchema.shape.error }),
]);

/** 202 of `POST /v1/jobs/batch`: one entry per file, in upload order; a bad file gets its own error. */
export const batchAcceptedSchema = z
  .object({ jobs: z.array(batchEntrySchema) })
  .meta({
    description: 'One entry per uploaded file, in order: a queued job, or that file\'s error.',
    example: {
      jobs: [
        { index: 0, id: '0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11', status: 'queued', links: { self: '/v1/jobs/0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11' } },
        { index: 1, filename: 'notes.txt', error: { code: 'unsupported_format', message: 'not an image' } },
      ],
    },
  });
export type BatchAccepted = z.infer<typeof batchAcceptedSchema>;

/** 200 of `POST /v1/detect`. */
export const detectResponseSchema = z
  .object({
    success: z.literal(true),
    id: z.string(),
    result: detectionResultSchema,
    /** seconds from submission to result */
    processing_time: z.number().nonnegative(),
  })
  .meta({
    description: 'The detections, answered synchronously.',
    example: {
      success: true,
      id: '0b9f4f4e-2f6c-4d8e-9d55-7d1c0e6c7b11',
      result: { width: 640, height: 480, detections: [{ label: 'mask', score: 0.9731, box: [10.5, 20, 110, 140.2] }], summary: { faces: 1, masked: 1, unmasked: 0 } },
      processing_time: 0.0421,
    },
  });

/** Non-200 of `POST /v1/detect` after the job was queued (504 timeout, 409 cancelled, the job's error). */
export const detectFailureSchema = z
  .object({ success: z.literal(false), id: z.string(), error: errorBodySchema.shape.error, links: jobLinksSchema })
  .meta({ description: 'The job was queued but gave no result in time, was cancelled, or failed.' });
