import { createLogger, loadConfigOrExit } from '@maskq/shared';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });

let worker: WorkerProcess | undefined;
let shuttingDown = false;

function shutdown(reason: string, exitCode: number): void {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ reason }, 'shutting down: finishing the batches in hand');
  // Jobs still held when the timer fires are recovered by another worker's stalled checker.
  const timer = setTimeout(() => {
    logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  (worker?.stop() ?? Promise.resolve()).then(
    () => {
      logger.info('worker stopped');
      process.exit(exitCode);
    },
    (err: unknown) => {
      logger.error({ err }, 'error while shutting down');
      process.exit(1);
    },
  );
}

process.once('SIGTERM', () => shutdown('SIGTERM', 0));
process.once('SIGINT', () => shutdown('SIGINT', 0));

try {
  worker = await startWorkerProcess({ config, logger, onFatal: () => shutdown('inference thread died', 1) });
  if (shuttingDown) await worker.stop();
} catch (err) {
  logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
}
