import type { ApiMetrics, BlobStore, Config, DetectQueue, Keys, Logger, ModelRef, RedisClient, Registry, WebhookQueue } from '@maskq/shared';
import type { ApiKeyring } from './auth/api-keys.js';
import type { JobEventsHub } from './events/job-events-hub.js';
import type { CallbackGuard } from './ingest/callback.js';
import type { IdempotencyStore } from './ingest/idempotency.js';
import type { SubmissionParser } from './ingest/submission.js';
import type { QueueDepth } from './limits/queue-depth.js';
import type { RateLimiter } from './limits/rate-limiter.js';

export type ApiConfig = Pick<
  Config,
  | 'MAX_IMAGE_BYTES'
  | 'MAX_BATCH_FILES'
  | 'MAX_METADATA_BYTES'
  | 'SYNC_TIMEOUT_MS'
  | 'API_REDIS_TIMEOUT_MS'
  | 'SSE_HEARTBEAT_MS'
  | 'ADMIN_USER'
  | 'ADMIN_PASSWORD'
  | 'WEBHOOK_SECRET'
  | 'WEBHOOK_ALLOW_PRIVATE'
  | 'WEBHOOK_ALLOWED_HOSTS'
  | 'RATE_LIMIT_PER_SECOND'
  | 'RATE_LIMIT_BURST'
  | 'MAX_QUEUE_DEPTH'
  | 'METRICS_TOKEN'
  | 'REDIS_WAIT_REPLICAS'
  | 'REDIS_WAIT_TIMEOUT_MS'
>;

/** Everything the app needs, built by main.ts (or a test) and passed in: no module-level singletons. */
export interface AppDeps {
  config: ApiConfig;
  keys: Keys;
  detectQueue: DetectQueue;
  blobStore: BlobStore;
  events: JobEventsHub;
  /** Non-blocking client: readiness PING, webhook state, rate limits, idempotency, queue depth. */
  redis: RedisClient;
  logger: Logger;
  /** The model manifest found at start, if any (readiness). */
  model?: ModelRef;
  /** The built web page (packages/web/dist) to serve at `/`; default found beside this package, null for none. */
  webDist?: string | null;
  /** Shown on the dashboard and in the queue gauges; the API never enqueues webhooks itself. */
  webhooksQueue?: WebhookQueue;
  /** Default: a new registry with service="api". */
  metricsRegistry?: Registry;
  /** Default: no keys (open API; main.ts refuses that beyond loopback). */
  apiKeys?: ApiKeyring;
  /** Default: createCallbackGuard(config). */
  callbackGuard?: CallbackGuard;
}

/** What createApp builds from AppDeps once and hands to the routers. */
export interface RouteDeps extends AppDeps {
  metrics: ApiMetrics;
  rateLimiter: RateLimiter;
  queueDepth: QueueDepth;
  idempotency: IdempotencyStore;
  parseSubmission: SubmissionParser;
}
