import { BlobStore, createDetectQueue, createKeys, createLogger, createRedis, loadConfigOrExit, redisMode } from '@maskq/shared';
import { createApp } from './app.js';
import { createJobEventsHub } from './events/job-events-hub.js';
import { readModelManifest } from './model-manifest.js';
import { startServer } from './server.js';
import { settleWithin } from './util/within.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'maskq-api' });
const keys = createKeys(config.QUEUE_PREFIX);

const redis = createRedis(config, { connectionName: 'maskq-api' });
redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
const detectQueue = createDetectQueue({ connection: redis, keys, config });
detectQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'detect queue error'));
const blobStore = new BlobStore(redis, keys, config.BLOB_TTL_SECONDS);
const eventsConnection = createRedis(config, { blocking: true, connectionName: 'maskq-api-events' });
eventsConnection.on('error', () => undefined); // reported through the hub's reader
const events = createJobEventsHub({ connection: eventsConnection, keys, logger });

const model = readModelManifest(config);
if (!model) logger.warn('no model manifest found: /ready answers 503 until one is installed and the API restarted');

// Give Redis a moment so the first requests find it; start anyway if it is down (/ready says 503).
await settleWithin(Promise.all([detectQueue.waitUntilReady(), events.waitUntilReady()]), 5000);

const app = createApp({ config, detectQueue, blobStore, events, redis, logger, model });
const server = await startServer(app, { host: config.HOST, port: config.PORT });
logger.info({ url: server.url, model, queuePrefix: config.QUEUE_PREFIX, redis: redisMode(config) }, 'maskq api listening');

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
  await settleWithin(detectQueue.close(), 2000);
  redis.disconnect();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
