import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import {
  BlobStore,
  createDetectQueue,
  createKeys,
  createMetricsRegistry,
  createRedis,
  createWebhookMetrics,
  createWebhookQueue,
  createWorkerMetrics,
  queueNames,
  type Config,
  type DetectJobData,
  type DetectJobReturn,
  type Keys,
  type Logger,
  type Registry,
} from '@maskq/shared';
import { BatchCollector } from './batch/batch-collector.js';
import { BatchRunner } from './batch/batch-runner.js';
import { LockKeeper } from './batch/lock-keeper.js';
import { loadModelSpec } from './detector/index.js';
import { closeServer, createOpsServer, listen } from './http/ops-server.js';
import { InferenceThreadClient } from './detector/infer/inference-client.js';
import { BatchPipeline } from './pipeline/batch-pipeline.js';
import { createPostprocessor, createPreprocessor } from './pipeline/detector-adapter.js';
import { TensorPool } from './pipeline/tensor-pool.js';
import { AnnotatedImages } from './publish/annotated-images.js';
import { JobPublisher } from './publish/job-publisher.js';
import { ResultCleaner } from './retention/result-cleaner.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';

export interface WorkerProcessOptions {
  config: Config;
  logger: Logger;
  /** The inference thread died: the process can no longer do its job. */
  onFatal?: (err: Error) => void;
}

export interface WorkerProcess {
  /** Port of /health, /ready, /metrics (the real one when WORKER_METRICS_PORT=0). */
  readonly opsPort: number;
  /** Stops taking jobs, publishes every batch in hand, closes connections and the thread. */
  stop(): Promise<void>;
}

interface Part {
  /** Stops taking work, finishes what it holds, closes its connections. */
  stop(): Promise<void>;
}

/**
 * Composition root of a worker process. `WORKER_ROLE` picks what it runs:
 * - detect: model → inference thread → BullMQ worker (manual fetching) → batch
 *   collector → batch pipeline → publisher (+ webhook enqueue, annotated images);
 * - webhooks: the webhook dispatcher (its own BullMQ Worker, never inside a batch);
 * - all (default): both, the dispatcher only when WEBHOOK_SECRET is set.
 */
export async function startWorkerProcess({ config, logger, onFatal }: WorkerProcessOptions): Promise<WorkerProcess> {
  const role = config.WORKER_ROLE;
  const runDetect = role !== 'webhooks';
  const runDispatcher = role === 'webhooks' || (role === 'all' && config.WEBHOOK_SECRET !== undefined);
  if (role === 'webhooks' && !config.WEBHOOK_SECRET) {
    throw new Error('WORKER_ROLE=webhooks needs WEBHOOK_SECRET (webhooks are never sent unsigned)');
  }

  let ready = false;
  const registry = createMetricsRegistry({ service: runDetect ? 'worker' : 'webhooks' });
  const opsServer = createOpsServer({ registry, isReady: () => ready });
  const opsPort = await listen(opsServer, config.WORKER_METRICS_PORT, config.WORKER_METRICS_HOST);
  logger.info({ port: opsPort, host: config.WORKER_METRICS_HOST }, 'ops endpoints listening (/health, /ready, /metrics)');

  const keys = createKeys(config.QUEUE_PREFIX);
  const parts: Part[] = [];
  try {
    // Detection first, dispatcher after: on stop, the detect side publishes its last batches
    // (and enqueues their webhooks) before the dispatcher closes.
    if (runDetect) parts.push(await startDetect(config, logger, keys, registry, onFatal));
    if (runDispatcher) parts.push(await startDispatcher(config, logger, keys, registry));
    else logger.info('webhook dispatcher off (WEBHOOK_SECRET unset); webhooks are still enqueued for a dispatcher elsewhere');
  } catch (err) {
    for (const part of parts.reverse()) await part.stop().catch(() => undefined);
    await closeServer(opsServer);
    throw err;
  }
  ready = true;
  logger.info({ role, dispatcher: runDispatcher }, 'worker ready');

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    ready = false;
    for (const part of parts) await part.stop();
    await closeServer(opsServer);
  };
  return {
    opsPort,
    stop: () => (stopping ??= stop()),
  };
}

async function startDetect(config: Config, logger: Logger, keys: Keys, registry: Registry, onFatal: ((err: Error) => void) | undefined): Promise<Part> {
  const spec = await loadModelSpec(config.MODEL_DIR);
  const inference = await InferenceThreadClient.start({
    session: {
      model: spec.modelPath,
      inputName: spec.inputName,
      imageShape: spec.imageShape,
      outputNames: spec.outputNames,
      executionProvider: config.EXECUTION_PROVIDER,
      cudaFallback: config.CUDA_FALLBACK,
      intraOpThreads: config.INTRA_OP_THREADS,
      graphOptimizationLevel: config.GRAPH_OPTIMIZATION_LEVEL,
      intraOpSpinning: config.INTRA_OP_SPINNING,
    },
    model: { name: spec.name, version: spec.version },
    logger,
    onCrash: onFatal,
  });
  // The provider actually in use (cpu after a CUDA fallback), so dashboards count real GPU workers.
  const metrics = createWorkerMetrics(registry, { executionProvider: inference.executionProvider, modelVersion: spec.version });

  const bullRedis = createRedis(config, { blocking: true, connectionName: 'maskq-worker' });
  const blobRedis = createRedis(config, { connectionName: 'maskq-worker-blobs' });
  const blobStore = new BlobStore(blobRedis, keys, config.BLOB_TTL_SECONDS);
  const webhookQueue = createWebhookQueue({ connection: bullRedis, keys, config, redis: blobRedis });

  const worker = new Worker<DetectJobData, DetectJobReturn>(queueNames.detect, null, {
    connection: bullRedis,
    prefix: keys.bullPrefix,
    autorun: false,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
    // Seconds an idle getNextJob blocks; short so a shutdown is not held up by an empty queue.
    drainDelay: 1,
  });
  worker.on('error', (err) => logger.error({ err }, 'bullmq worker error'));
  await worker.waitUntilReady();
  // Manual fetching does not start the stalled-job checker: without it jobs of a dead worker stay active forever.
  void worker.startStalledCheckTimer();

  const lockKeeper = new LockKeeper(worker, { lockDurationMs: config.LOCK_DURATION_MS }, logger);
  const preprocessor = createPreprocessor(spec, config.MAX_IMAGE_PIXELS);
  const pipeline = new BatchPipeline({
    blobStore,
    preprocessor,
    inference,
    postprocessor: createPostprocessor(spec),
    publisher: new JobPublisher(blobStore, logger),
    lockKeeper,
    // One tensor for the batch in flight, one for the batch being prepared.
    tensorPool: new TensorPool(preprocessor.imageElements * config.BATCH_MAX_SIZE, 2),
    logger,
    metrics,
    webhookQueue,
    annotatedImages: new AnnotatedImages({ redis: blobRedis, keys, ttlSeconds: config.RESULT_TTL_SECONDS, maxPixels: config.MAX_IMAGE_PIXELS, logger }),
  });
  const collector = new BatchCollector(worker, { maxSize: config.BATCH_MAX_SIZE, maxWaitMs: config.BATCH_MAX_WAIT_MS });
  const runner = new BatchRunner(collector, pipeline, `${worker.id}:${randomUUID().slice(0, 8)}`, logger);

  // Finished jobs past RESULT_TTL_SECONDS / FAILED_TTL_SECONDS go even when no later job finishes.
  const detectQueue = createDetectQueue({ connection: blobRedis, keys, config });
  detectQueue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'detect queue error'));
  const resultCleaner = new ResultCleaner(detectQueue, { resultTtlSeconds: config.RESULT_TTL_SECONDS, failedTtlSeconds: config.FAILED_TTL_SECONDS }, logger);

  lockKeeper.start();
  resultCleaner.start();
  runner.start();
  logger.info(
    {
      model: `${spec.name}@${spec.version}`,
      executionProvider: inference.executionProvider,
      batchMaxSize: config.BATCH_MAX_SIZE,
      batchMaxWaitMs: config.BATCH_MAX_WAIT_MS,
    },
    'detection running',
  );
  return {
    async stop() {
      await runner.stop();
      await lockKeeper.stop();
      await resultCleaner.stop();
      await worker.close();
      await webhookQueue.close();
      await detectQueue.close();
      await inference.close();
      await Promise.allSettled([bullRedis.quit(), blobRedis.quit()]);
    },
  };
}

async function startDispatcher(config: Config, logger: Logger, keys: Keys, registry: Registry): Promise<Part> {
  const connection = createRedis(config, { blocking: true, connectionName: 'maskq-webhooks' });
  const redis = createRedis(config, { connectionName: 'maskq-webhooks-state' });
  const dispatcher = new WebhookDispatcher({ connection, redis, keys, config, logger, metrics: createWebhookMetrics(registry) });
  await dispatcher.worker.waitUntilReady();
  logger.info({ concurrency: config.WEBHOOK_CONCURRENCY }, 'webhook dispatcher running');
  return {
    async stop() {
      await dispatcher.close();
      await Promise.allSettled([connection.quit(), redis.quit()]);
    },
  };
}
