import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config/schema.js';
import type { Keys } from '../keys.js';
import { queueNames } from '../keys.js';
import type { DetectJobData, DetectJobReturn } from '../schemas/job.js';

export type DetectQueue = Queue<DetectJobData, DetectJobReturn>;

/** Job options every producer uses, so retries and retention are the same from API and tests. */
export function detectJobOptions(config: Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS' | 'RESULT_TTL_SECONDS' | 'FAILED_TTL_SECONDS'>): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { age: config.RESULT_TTL_SECONDS },
    removeOnFail: { age: config.FAILED_TTL_SECONDS },
  };
}

export interface DetectQueueOptions {
  connection: ConnectionOptions;
  keys: Keys;
  config: Parameters<typeof detectJobOptions>[0];
}

export function createDetectQueue({ connection, keys, config }: DetectQueueOptions): DetectQueue {
  return new Queue<DetectJobData, DetectJobReturn>(queueNames.detect, {
    connection,
    prefix: keys.bullPrefix,
    defaultJobOptions: detectJobOptions(config),
  });
}
