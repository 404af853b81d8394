import type { RedisClient } from '@maskq/shared';
import type { BlobStore, Config, DetectQueue, Logger, ModelRef } from '@maskq/shared';
import type { JobEventsHub } from './events/job-events-hub.js';

export type ApiConfig = Pick<
  Config,
  | 'MAX_IMAGE_BYTES'
  | 'MAX_BATCH_FILES'
  | 'MAX_METADATA_BYTES'
  | 'SYNC_TIMEOUT_MS'
  | 'API_REDIS_TIMEOUT_MS'
  | 'SSE_HEARTBEAT_MS'
  | 'REDIS_WAIT_REPLICAS'
  | 'REDIS_WAIT_TIMEOUT_MS'
>;

/** Everything the app needs, built by main.ts (or a test) and passed in: no module-level singletons. */
export interface AppDeps {
  config: ApiConfig;
  detectQueue: DetectQueue;
  blobStore: BlobStore;
  events: JobEventsHub;
  /** Non-blocking client, used for the readiness PING. */
  redis: RedisClient;
  logger: Logger;
  /** The model manifest found at start, if any (readiness). */
  model?: ModelRef;
}
