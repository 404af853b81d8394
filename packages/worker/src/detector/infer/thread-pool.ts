import type { ModelRef } from '@maskq/shared';
import { InferenceThreadClient, type ThreadLogger } from './inference-client.js';
import type { ExecutionProvider, InferenceOutputs, InferenceSession, OrtSessionOptions } from './session.js';

export interface InferenceThreadPoolOptions {
  /** Threads, each with its own ONNX Runtime session. */
  size: number;
  session: Omit<OrtSessionOptions, 'logger'>;
  model: ModelRef;
  logger?: ThreadLogger;
}

const silent: ThreadLogger = { info: () => undefined, warn: () => undefined };

/**
 * ONNX Runtime sessions on worker_threads behind the detector's InferenceSession.
 * onnxruntime-node's `run` blocks the thread that calls it; here the caller's
 * thread stays free to decode the next images, and several batches infer at once
 * (one per thread), which on a small shared CPU uses the cores better than one
 * session with several intra-op threads (docs/benchmarks.md).
 */
export class InferenceThreadPool implements InferenceSession {
  private readonly inFlight: number[];
  private closed = false;

  private constructor(private readonly threads: InferenceThreadClient[]) {
    this.inFlight = threads.map(() => 0);
  }

  static async start(options: InferenceThreadPoolOptions): Promise<InferenceThreadPool> {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('an inference thread pool needs at least one thread');
    const logger = options.logger ?? silent;
    const started = await Promise.allSettled(
      Array.from({ length: options.size }, () => InferenceThreadClient.start({ session: options.session, model: options.model, logger })),
    );
    const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(threads.map((t) => t.close()));
      throw failed.reason;
    }
    return new InferenceThreadPool(threads);
  }

  get size(): number {
    return this.threads.length;
  }

  get executionProvider(): ExecutionProvider {
    return this.threads[0]!.executionProvider;
  }

  /** Runs on the thread with the fewest batches in hand. The batch's buffer moves there: do not use it afterwards. */
  async run(batch: Float32Array, n: number): Promise<InferenceOutputs> {
    let pick = 0;
    for (let i = 1; i < this.inFlight.length; i++) if (this.inFlight[i]! < this.inFlight[pick]!) pick = i;
    this.inFlight[pick]!++;
    try {
      const { loc, cls } = await this.threads[pick]!.run(batch, n);
      return { loc, cls };
    } finally {
      this.inFlight[pick]!--;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
