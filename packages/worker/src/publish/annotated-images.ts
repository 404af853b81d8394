import type { Detection, Keys, Logger, RedisClient } from '@maskq/shared';
import { renderAnnotated } from './annotate.js';

export interface AnnotatedImagesOptions {
  redis: RedisClient;
  keys: Keys;
  /** RESULT_TTL_SECONDS: the image lives as long as the result that points at it. */
  ttlSeconds: number;
  /** MAX_IMAGE_PIXELS, the decoder's bound. */
  maxPixels: number;
  logger: Logger;
}

/**
 * Annotated JPEGs of jobs that asked for one (`annotate: true`), rendered in
 * the publish step of their batch and stored at `keys.annotated(jobId)` with the
 * result's TTL. A rendering or storage error costs only the picture: the job
 * still completes with its detections, without `annotatedKey`.
 */
export class AnnotatedImages {
  constructor(private readonly options: AnnotatedImagesOptions) {}

  /** Renders and stores one image; returns its key, or undefined when that failed (logged). */
  async renderAndStore(job: { id?: string | undefined; data: { requestId?: string | undefined } }, bytes: Buffer, detections: readonly Detection[]): Promise<string | undefined> {
    const { redis, keys, ttlSeconds, maxPixels, logger } = this.options;
    const key = keys.annotated(job.id!);
    try {
      const jpeg = await renderAnnotated(bytes, detections, { maxPixels });
      await redis.set(key, jpeg, 'EX', ttlSeconds);
      return key;
    } catch (err) {
      logger.warn({ err, jobId: job.id, requestId: job.data.requestId }, 'could not store the annotated image; the job completes without it');
      return undefined;
    }
  }
}
