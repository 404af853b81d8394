import { Worker } from 'node:worker_threads';
import { MaskqError, type ModelRef } from '@maskq/shared';
import type { DetectorLogger, ExecutionProvider, InferenceOutputs } from './session.js';
import type { FromThread, InferenceThreadData, ToThread } from './thread-messages.js';

/** What one run answers: the outputs, the batch tensor back (see `run`), and the time the session took. */
export type ThreadRunResult = InferenceOutputs & { input: Float32Array; inferenceMs: number };

/** Where the thread's log lines go; `error` (when present) gets its death. */
export type ThreadLogger = DetectorLogger & { error?(obj: object, msg?: string): void };

interface Pending {
  /** the batch tensor when it is shared (it never leaves this thread's hands) */
  shared?: Float32Array;
  resolve(value: ThreadRunResult): void;
  reject(err: Error): void;
}

export interface InferenceThreadOptions extends InferenceThreadData {
  model: ModelRef;
  logger: ThreadLogger;
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
 * The main thread's side of the inference thread (the worker's BatchInference, and one
 * member of the detector's InferenceThreadPool).
 * A batch tensor in shared memory (TensorPool's) is sent to the thread once and
 * then named by id; any other tensor's buffer is transferred (no copy) and
 * comes back with the outputs.
 */
export class InferenceThreadClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** ids of the shared tensors the thread has been sent */
  private readonly sharedIds = new WeakMap<SharedArrayBuffer, number>();
  private nextSharedId = 0;
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

  run(batch: Float32Array, n: number): Promise<ThreadRunResult> {
    if (this.closing) return Promise.reject(new MaskqError('unavailable', 'inference thread is closed', { retryable: true }));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      if (batch.buffer instanceof SharedArrayBuffer) {
        const known = this.sharedIds.get(batch.buffer);
        const bufferId = known ?? ++this.nextSharedId;
        if (known === undefined) this.sharedIds.set(batch.buffer, bufferId);
        this.pending.set(id, { resolve, reject, shared: batch });
        const input = known === undefined ? { kind: 'shared' as const, bufferId, buffer: batch.buffer } : { kind: 'shared' as const, bufferId };
        this.thread.postMessage({ type: 'run', id, input, n } satisfies ToThread);
        return;
      }
      this.pending.set(id, { resolve, reject });
      const buffer = batch.buffer as ArrayBuffer;
      this.thread.postMessage({ type: 'run', id, input: { kind: 'transferred', buffer }, n } satisfies ToThread, [buffer]);
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

  private listen(logger: ThreadLogger, onCrash?: (err: Error) => void): void {
    this.thread.on('message', (msg: FromThread) => {
      if (msg.type === 'log') return logger[msg.level](msg.obj, msg.msg);
      if (msg.type !== 'result' && msg.type !== 'error') return;
      const pending = this.pending.get(msg.id);
      if (!pending) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') {
        const input = pending.shared ?? new Float32Array(msg.input ?? new ArrayBuffer(0));
        pending.resolve({ loc: msg.loc, cls: msg.cls, input, inferenceMs: msg.inferenceMs });
      } else {
        pending.reject(new MaskqError(msg.code, msg.message, { retryable: msg.retryable }));
      }
    });
    const crashed = (err: Error) => {
      for (const pending of this.pending.values()) pending.reject(new MaskqError('inference_failed', 'inference thread stopped', { retryable: true, cause: err }));
      this.pending.clear();
      if (!this.closing) {
        this.closing = true;
        (logger.error ?? logger.warn).call(logger, { err }, 'inference thread died');
        onCrash?.(err);
      }
    };
    this.thread.on('error', crashed);
    this.thread.on('exit', (code) => crashed(new Error(`inference thread exited with code ${code}`)));
  }
}
