import { z } from 'zod';
import { detectionResultSchema, errorCodes, webhookEvents } from '@maskq/shared';

/**
 * PROVISIONAL: the submission and response schemas of the HTTP API, until
 * packages/shared/src/schemas/api.ts (branch `hardening`) lands with the same
 * names; then this module re-exports those and the routes validate with them.
 */

const jobLinksSchema = z.object({ self: z.string().meta({ example: '/v1/jobs/0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11' }) });

export const submitFieldsSchema = z.object({
  metadata: z
    .string()
    .optional()
    .meta({ description: 'A JSON object (text) stored with the job and returned with it; at most MAX_METADATA_BYTES.', example: '{"camera":"door-3"}' }),
  callback_url: z
    .url()
    .optional()
    .meta({ description: 'Public http(s) URL that receives a signed webhook when the job ends (needs WEBHOOK_SECRET on the server).', example: 'https://example.com/hooks/maskq' }),
  callback_events: z
    .string()
    .optional()
    .meta({ description: `Comma-separated events to deliver: ${webhookEvents.join(', ')} (default: all).`, example: 'completed,failed' }),
  max_wait_ms: z
    .string()
    .regex(/^\d{1,9}$/)
    .optional()
    .meta({ description: 'Milliseconds the job may wait in the queue; after that it fails with `expired` instead of starting.', example: '30000' }),
  annotate: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'Also render an annotated JPEG (boxes drawn), served at /v1/jobs/{id}/annotated.jpg.', example: 'true' }),
});

export const detectQuerySchema = z.object({
  timeout_ms: z
    .string()
    .regex(/^\d{1,6}$/)
    .optional()
    .meta({ description: 'How long to wait for the result, 1..120000 ms (default SYNC_TIMEOUT_MS).', example: '10000' }),
});

export const acceptedJobSchema = z
  .object({ id: z.string(), status: z.literal('queued'), links: jobLinksSchema })
  .meta({
    description: 'The job was queued; poll links.self, stream /events, or wait for the webhook.',
    example: { id: '0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11', status: 'queued', links: { self: '/v1/jobs/0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11' } },
  });

const errorSchema = z.object({ code: z.enum(errorCodes), message: z.string() });

export const batchAcceptedSchema = z
  .object({
    jobs: z.array(
      z.union([
        z.object({ index: z.number().int().nonnegative(), id: z.string(), status: z.literal('queued'), links: jobLinksSchema }),
        z.object({ index: z.number().int().nonnegative(), filename: z.string().optional(), error: errorSchema }),
      ]),
    ),
  })
  .meta({
    description: 'One entry per uploaded file, in upload order: queued, or rejected with its own error.',
    example: {
      jobs: [
        { index: 0, id: '5d1c0a47-3b8e-4f0a-9a55-0c8b1f7e2d10', status: 'queued', links: { self: '/v1/jobs/5d1c0a47-3b8e-4f0a-9a55-0c8b1f7e2d10' } },
        { index: 1, filename: 'notes.txt', error: { code: 'unsupported_format', message: 'not an image we take' } },
      ],
    },
  });

export const detectResponseSchema = z
  .object({
    success: z.literal(true),
    id: z.string(),
    result: detectionResultSchema,
    processing_time: z.number().nonnegative().meta({ description: 'Seconds from submission to the worker finishing.' }),
  })
  .meta({
    description: 'The detection result, answered synchronously.',
    example: {
      success: true,
      id: '9a7e3c2d-4b1f-4e8a-8c6d-1f2e3d4c5b6a',
      result: {
        width: 640,
        height: 480,
        detections: [
          { label: 'mask', score: 0.9731, box: [102.5, 88, 210, 220.4] },
          { label: 'no_mask', score: 0.8812, box: [380, 95.2, 470.8, 210] },
        ],
        summary: { faces: 2, masked: 1, unmasked: 1 },
      },
      processing_time: 0.0831,
    },
  });

/** A sync detection that did not produce a result: timeout (504), cancelled (409), or the job's own failure. */
export const detectFailureSchema = z
  .object({ success: z.literal(false), id: z.string(), error: errorSchema, links: jobLinksSchema })
  .meta({
    description: 'No result: the job timed out (it keeps running; poll links.self), was cancelled, or failed.',
    example: {
      success: false,
      id: '9a7e3c2d-4b1f-4e8a-8c6d-1f2e3d4c5b6a',
      error: { code: 'timeout', message: 'no result within 10000 ms; the job continues, poll /v1/jobs/9a7e3c2d-4b1f-4e8a-8c6d-1f2e3d4c5b6a' },
      links: { self: '/v1/jobs/9a7e3c2d-4b1f-4e8a-8c6d-1f2e3d4c5b6a' },
    },
  });

export const errorBodySchema = z
  .object({ error: errorSchema })
  .meta({ description: 'Every error: a stable code and a human-readable message.', example: { error: { code: 'not_found', message: 'no job 42' } } });

export const cancelledJobSchema = z
  .object({ id: z.string(), status: z.literal('cancelled') })
  .meta({ example: { id: '0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11', status: 'cancelled' } });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ example: { status: 'ok' } });

export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    redis: z.enum(['ok', 'unavailable']),
    model: z.object({ name: z.string(), version: z.string() }).nullable(),
  })
  .meta({ example: { status: 'ready', redis: 'ok', model: { name: 'face-mask', version: '1.0.0' } } });
