import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { BlobStore, createKeys, createRedis, queueNames, type Config, type DetectJobData, type DetectJobReturn, type Logger } from '@maskq/shared';
import { BatchCollector } from './batch/batch-collector.js';
import { BatchRunner } from './batch/batch-runner.js';
import { LockKeeper } from './batch/lock-keeper.js';
import { loadModelSpec } from './detector/index.js';
import { closeServer, createOpsServer, listen } from './http/ops-server.js';
import { createMetricsRegistry } from './http/metrics.js';
import { InferenceThreadClient } from './infer/inference-client.js';
import { BatchPipeline } from './pipeline/batch-pipeline.js';
import { createPostprocessor, createPreprocessor } from './pipeline/detector-adapter.js';
import { TensorPool } from './pipeline/tensor-pool.js';
import { JobPublisher } from './publish/job-publisher.js';

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

/**
 * Composition root of a worker process: model → inference thread → BullMQ
 * worker (manual fetching) → batch collector → batch pipeline → publisher.
 */
export async function startWorkerProcess({ config, logger, onFatal }: WorkerProcessOptions): Promise<WorkerProcess> {
  let ready = false;
  const registry = createMetricsRegistry();
  const opsServer = createOpsServer({ registry, isReady: () => ready });
  const opsPort = await listen(opsServer, config.WORKER_METRICS_PORT, config.WORKER_METRICS_HOST);
  logger.info({ port: opsPort, host: config.WORKER_METRICS_HOST }, 'ops endpoints listening (/health, /ready, /metrics)');

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
    },
    model: { name: spec.name, version: spec.version },
    logger,
    onCrash: onFatal,
  });

  const keys = createKeys(config.QUEUE_PREFIX);
  const bullRedis = createRedis(config, { blocking: true, connectionName: 'maskq-worker' });
  const blobRedis = createRedis(config, { connectionName: 'maskq-worker-blobs' });
  const blobStore = new BlobStore(blobRedis, keys, config.BLOB_TTL_SECONDS);

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
  });
  const collector = new BatchCollector(worker, { maxSize: config.BATCH_MAX_SIZE, maxWaitMs: config.BATCH_MAX_WAIT_MS });
  const runner = new BatchRunner(collector, pipeline, `${worker.id}:${randomUUID().slice(0, 8)}`, logger);

  lockKeeper.start();
  runner.start();
  ready = true;
  logger.info(
    {
      model: `${spec.name}@${spec.version}`,
      executionProvider: inference.executionProvider,
      batchMaxSize: config.BATCH_MAX_SIZE,
      batchMaxWaitMs: config.BATCH_MAX_WAIT_MS,
    },
    'worker ready',
  );

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    ready = false;
    await runner.stop();
    await lockKeeper.stop();
    await worker.close();
    await inference.close();
    await Promise.allSettled([bullRedis.quit(), blobRedis.quit()]);
    await closeServer(opsServer);
  };
  return {
    opsPort,
    stop: () => (stopping ??= stop()),
  };
}
