import { z } from 'zod';

/**
 * The HTTP API's schemas: the submission and response schemas are the ones the
 * routes validate and answer with (packages/shared/src/schemas/api.ts); the few
 * small answers only the API builds are here.
 */
export {
  acceptedJobSchema,
  batchAcceptedSchema,
  detectFailureSchema,
  detectQuerySchema,
  detectResponseSchema,
  errorBodySchema,
  submitFieldsSchema,
} from '@maskq/shared';

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
