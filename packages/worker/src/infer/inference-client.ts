import { Worker } from 'node:worker_threads';
import { MaskqError, type Logger, type ModelRef } from '@maskq/shared';
import type { ExecutionProvider } from '../detector/infer/session.js';
import type { BatchInference, BatchOutput } from '../pipeline/detector-port.js';
import type { FromThread, InferenceThreadData, ToThread } from './messages.js';

interface Pending {
  resolve(value: BatchOutput & { input: Float32Array; inferenceMs: number }): void;
  reject(err: Error): void;
}

export interface InferenceThreadOptions extends InferenceThreadData {
  model: ModelRef;
  logger: Logger;
  /** Called when the thread dies on its own; the process cannot infer any more. */
  onCrash?: (err: Error) => void;
}

/** The thread's entry beside this module: `.ts` under tsx (dev, tests), `.js` when built. */
const threadEntry = new URL(`./inference-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/**
 * Under tsx (dev, tests) the thread entry is TypeScript, and on Node 20 the
 * hooks of `--import tsx` do not reach worker threads: a one-line bootstrap
 * registers tsx in the thread, then imports the entry. Built code (.js) needs none.
 */
function spawnThread(workerData: InferenceThreadData): Worker {
  if (!threadEntry.pathname.endsWith('.ts')) return new Worker(threadEntry, { workerData });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(threadEntry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: ['--conditions=source'] });
}

/**
 * The main thread's side of the inference thread: implements BatchInference by
 * handing the batch tensor's buffer over (transfer, no copy) and getting it
 * back with the outputs.
 */
export class InferenceThreadClient implements BatchInference {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;

  private constructor(
    private readonly thread: Worker,
    readonly model: ModelRef,
    readonly executionProvider: ExecutionProvider,
  ) {}

  static async start(options: InferenceThreadOptions): Promise<InferenceThreadClient> {
    const { logger } = options;
    const thread = spawnThread({ session: options.session });
    const executionProvider = await new Promise<ExecutionProvider>((resolve, reject) => {
      const onMessage = (msg: FromThread) => {
        if (msg.type === 'log') logger[msg.level](msg.obj, msg.msg);
        else if (msg.type === 'ready') done(() => resolve(msg.executionProvider));
        else if (msg.type === 'start-failed') done(() => reject(new MaskqError('unavailable', msg.message)));
      };
      const onError = (err: Error) => done(() => reject(err));
      const onExit = (code: number) => done(() => reject(new MaskqError('unavailable', `inference thread exited with code ${code} while starting`)));
      const done = (settle: () => void) => {
        thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        settle();
      };
      thread.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    const client = new InferenceThreadClient(thread, options.model, executionProvider);
    client.listen(logger, options.onCrash);
    return client;
  }

  run(batch: Float32Array, n: number): Promise<BatchOutput & { input: Float32Array; inferenceMs: number }> {
    if (this.closing) return Promise.reject(new MaskqError('unavailable', 'inference thread is closed', { retryable: true }));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ToThread = { type: 'run', id, input: batch.buffer as ArrayBuffer, n };
      this.thread.postMessage(msg, [batch.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const exited = new Promise<void>((resolve) => this.thread.once('exit', () => resolve()));
    this.thread.postMessage({ type: 'close' } satisfies ToThread);
    const timer = setTimeout(() => void this.thread.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private listen(logger: Logger, onCrash?: (err: Error) => void): void {
    this.thread.on('message', (msg: FromThread) => {
      if (msg.type === 'log') return logger[msg.level](msg.obj, msg.msg);
      if (msg.type !== 'result' && msg.type !== 'error') return;
      const pending = this.pending.get(msg.id);
      if (!pending) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') {
        pending.resolve({ loc: msg.loc, cls: msg.cls, input: new Float32Array(msg.input), inferenceMs: msg.inferenceMs });
      } else {
        pending.reject(new MaskqError(msg.code, msg.message, { retryable: msg.retryable }));
      }
    });
    const crashed = (err: Error) => {
      for (const pending of this.pending.values()) pending.reject(new MaskqError('inference_failed', 'inference thread stopped', { retryable: true, cause: err }));
      this.pending.clear();
      if (!this.closing) {
        this.closing = true;
        logger.error({ err }, 'inference thread died');
        onCrash?.(err);
      }
    };
    this.thread.on('error', crashed);
    this.thread.on('exit', (code) => crashed(new Error(`inference thread exited with code ${code}`)));
  }
}
