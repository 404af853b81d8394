import { z } from 'zod';
import { detectionResultSchema } from './result.js';
import { errorCodes } from '../errors/codes.js';

export const imageFormats = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'] as const;
export type ImageFormat = (typeof imageFormats)[number];

/** What a detection job carries in BullMQ: a reference to the image, never its bytes. */
export const detectJobDataSchema = z.object({
  blobKey: z.string(),
  format: z.enum(imageFormats),
  bytes: z.number().int().nonnegative(),
  submittedAt: z.number(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  requestId: z.string().optional(),
  owner: z.string().optional(),
  /** epoch ms after which the job must not start */
  deadline: z.number().optional(),
  annotate: z.boolean().optional(),
  callback: z
    .object({ url: z.string(), events: z.array(z.enum(['completed', 'failed'])) })
    .optional(),
});
export type DetectJobData = z.infer<typeof detectJobDataSchema>;

export const modelRefSchema = z.object({ name: z.string(), version: z.string() });
export type ModelRef = z.infer<typeof modelRefSchema>;

/** What the worker stores as the job's return value. */
export const detectJobReturnSchema = z.object({
  result: detectionResultSchema,
  model: modelRefSchema,
  startedAt: z.number(),
  finishedAt: z.number(),
  inferenceMs: z.number(),
  batchSize: z.number().int().positive(),
  annotatedKey: z.string().optional(),
});
export type DetectJobReturn = z.infer<typeof detectJobReturnSchema>;

export const jobStatuses = ['queued', 'processing', 'completed', 'failed', 'expired', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The job resource as `GET /v1/jobs/:id` shows it (absent fields omitted). */
export const jobResourceSchema = z.object({
  id: z.string(),
  status: z.enum(jobStatuses),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  result: detectionResultSchema.optional(),
  error: z.object({ code: z.enum(errorCodes), message: z.string() }).optional(),
  timings: z
    .object({
      queue_ms: z.number().optional(),
      inference_ms: z.number().optional(),
      total_ms: z.number().optional(),
    })
    .optional(),
  model: modelRefSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  webhook: z
    .object({
      status: z.enum(['pending', 'delivered', 'failed']),
      attempts: z.number().int(),
      last_status: z.number().int().optional(),
      last_error: z.string().optional(),
    })
    .optional(),
  links: z.record(z.string(), z.string()).optional(),
});
export type JobResource = z.infer<typeof jobResourceSchema>;
