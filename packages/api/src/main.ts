import {
  BlobStore,
  ConfigError,
  createDetectQueue,
  createKeys,
  createLogger,
  createMetricsRegistry,
  createRedis,
  createWebhookQueue,
  loadConfigOrExit,
  redisMode,
} from '@maskq/shared';
import { createApp } from './app.js';
import { takeApiKeyring, unauthenticatedListenProblem, type ApiKeyring } from './auth/api-keys.js';
import { createJobEventsHub } from './events/job-events-hub.js';
import { createCallbackGuard } from './ingest/callback.js';
import { readModelManifest } from './model-manifest.js';
import { startServer } from './server.js';
import { settleWithin } from './util/within.js';

const fullConfig = loadConfigOrExit();
const logger = createLogger({ level: fullConfig.LOG_LEVEL, name: 'maskq-api' });

// Keys are hashed once; the plaintext leaves the config object and the environment.
let keyring: ApiKeyring;
let config: Omit<typeof fullConfig, 'API_KEYS'>;
try {
  ({ keyring, config } = takeApiKeyring(fullConfig));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`maskq: invalid configuration\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(78);
}
delete process.env.API_KEYS;
delete (fullConfig as { API_KEYS?: string }).API_KEYS;

const listenProblem = unauthenticatedListenProblem(config, keyring);
if (listenProblem) {
  logger.fatal(listenProblem);
  process.stderr.write(`maskq: refusing to start\n  - ${listenProblem}\n`);
  process.exit(78);
}
if (!keyring.enabled) {
  logger.warn(
    { host: config.HOST, allowUnauthenticated: config.ALLOW_UNAUTHENTICATED },
    '!!! NO API KEYS CONFIGURED: anyone who can reach this API can submit images and read every job. Set API_KEYS or API_KEYS_FILE. !!!',
  );
} else {
  logger.info({ keys: keyring.size }, 'API keys loaded (kept as SHA-256 digests only)');
}
if (!config.METRICS_TOKEN) logger.info('/metrics is open: set METRICS_TOKEN to require a bearer token');

const keys = createKeys(config.QUEUE_PREFIX);
const redis = createRedis(config, { connectionName: 'maskq-api' });
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
const detectQueue = createDetectQueue({ connection: redis, keys, config });
detectQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'detect queue error'));
// Only for the dashboard and the queue gauges: the worker enqueues webhooks.
const webhooksQueue = createWebhookQueue({ connection: redis, keys, config, redis });
webhooksQueue.queue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'webhooks queue error'));
const blobStore = new BlobStore(redis, keys, config.BLOB_TTL_SECONDS);
const eventsConnection = createRedis(config, { blocking: true, connectionName: 'maskq-api-events' });
eventsConnection.on('error', () => undefined); // reported through the hub's reader
const events = createJobEventsHub({ connection: eventsConnection, keys, logger });

const model = readModelManifest(config);
if (!model) logger.warn('no model manifest found: /ready answers 503 until one is installed and the API restarted');

// Give Redis a moment so the first requests find it; start anyway if it is down (/ready says 503).
await settleWithin(Promise.all([detectQueue.waitUntilReady(), events.waitUntilReady()]), 5000);

const app = createApp({
  config,
  keys,
  detectQueue,
  webhooksQueue,
  blobStore,
  events,
  redis,
  logger,
  model,
  metricsRegistry: createMetricsRegistry({ service: 'api' }),
  apiKeys: keyring,
  callbackGuard: createCallbackGuard(config),
});
const server = await startServer(app, { host: config.HOST, port: config.PORT });
logger.info({ url: server.url, model, queuePrefix: config.QUEUE_PREFIX, auth: keyring.enabled, redis: redisMode(config) }, 'maskq api listening');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const hardStop = setTimeout(() => {
    logger.error('shutdown timed out');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS + 1000);
  hardStop.unref();
  // SSE streams end when the hub closes; then in-flight requests get the grace period.
  const closingServer = server.close(config.SHUTDOWN_TIMEOUT_MS);
  await events.close();
  await closingServer;
  await settleWithin(Promise.all([detectQueue.close(), webhooksQueue.close()]), 2000);
  redis.disconnect();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
