/**
 * The ONNX Runtime session behind a small interface. This module depends on
 * onnxruntime-node only (no sharp), so a worker_thread can host it and the
 * main thread can hand it a batch tensor.
 */
import * as ort from 'onnxruntime-node';
import { MaskqError } from '@maskq/shared';

export type ExecutionProvider = 'cpu' | 'cuda';
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface InferenceOutputs {
  /** [n, anchors, 4] encoded box offsets */
  loc: Float32Array;
  /** [n, anchors, classes] class probabilities */
  cls: Float32Array;
}

/** What the detector needs from a model runner; implemented here in-process, elsewhere over a worker_thread. */
export interface InferenceSession {
  /** The provider actually in use (cuda may have fallen back to cpu). */
  readonly executionProvider: ExecutionProvider;
  /** Runs the first `n` images of an NCHW batch tensor. */
  run(batch: Float32Array, n: number): Promise<InferenceOutputs>;
  close(): Promise<void>;
}

/** The subset of pino's interface the detector logs through. */
export interface DetectorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface OrtSessionOptions {
  /** Path of the .onnx file, or its bytes. */
  model: string | Uint8Array;
  /** ONNX input name (e.g. `data`). */
  inputName: string;
  /** Shape of one image: [channels, height, width]. */
  imageShape: readonly [number, number, number];
  /** Output names; when absent, loc and cls are told apart by their last dimension (4 vs classes). */
  outputNames?: { loc: string; cls: string };
  executionProvider?: ExecutionProvider;
  /** When CUDA cannot be used: true (default) runs on CPU with a warning, false throws. */
  cudaFallback?: boolean;
  /** Intra-op threads; 0 or absent lets ONNX Runtime choose (one per core). */
  intraOpThreads?: number;
  /** 'all' by default: measured 1.3x faster than 'extended' on this model (2-core AMD EPYC, ORT 1.30; docs/benchmarks.md). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Let idle intra-op threads spin (ONNX Runtime's default, true). Spinning
   * wastes CPU that other processes on a shared node could use.
   */
  intraOpSpinning?: boolean;
  logger?: DetectorLogger;
}

function sessionOptions(options: OrtSessionOptions, provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  const result: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
  };
  if (options.intraOpThreads !== undefined && options.intraOpThreads > 0) result.intraOpNumThreads = options.intraOpThreads;
  if (options.intraOpSpinning === false) result.extra = { session: { intra_op: { allow_spinning: '0' } } };
  return result;
}

async function openSession(options: OrtSessionOptions, provider: ExecutionProvider): Promise<ort.InferenceSession> {
  const opts = sessionOptions(options, provider);
  return typeof options.model === 'string'
    ? ort.InferenceSession.create(options.model, opts)
    : ort.InferenceSession.create(options.model, opts);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens one ONNX Runtime session (create one per process and share it).
 * `executionProvider: 'cuda'` asks for CUDA; when the CUDA provider cannot be
 * loaded (no GPU, no CUDA libraries) it falls back to CPU with a warning,
 * unless `cudaFallback` is false.
 */
export async function createOrtSession(options: OrtSessionOptions): Promise<InferenceSession> {
  const requested = options.executionProvider ?? 'cpu';
  let provider: ExecutionProvider = requested;
  let session: ort.InferenceSession;
  try {
    session = await openSession(options, requested);
  } catch (err) {
    if (requested !== 'cuda') {
      throw new MaskqError('unavailable', `cannot load the model: ${message(err)}`, { cause: err });
    }
    if (options.cudaFallback === false) {
      throw new MaskqError(
        'unavailable',
        `EXECUTION_PROVIDER=cuda but the CUDA execution provider cannot be used (${message(err)}); ` +
          'install the CUDA build of onnxruntime-node and its libraries, or set EXECUTION_PROVIDER=cpu',
        { cause: err },
      );
    }
    options.logger?.warn(
      { requested: 'cuda', using: 'cpu', reason: message(err) },
      'CUDA execution provider unavailable, falling back to CPU',
    );
    provider = 'cpu';
    try {
      session = await openSession(options, 'cpu');
    } catch (cpuErr) {
      throw new MaskqError('unavailable', `cannot load the model: ${message(cpuErr)}`, { cause: cpuErr });
    }
  }
  options.logger?.info(
    {
      executionProvider: provider,
      intraOpThreads: options.intraOpThreads || 'auto',
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    },
    'inference session ready',
  );
  return new OrtInferenceSession(session, provider, options);
}

class OrtInferenceSession implements InferenceSession {
  private readonly perImage: number;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly executionProvider: ExecutionProvider,
    private readonly options: OrtSessionOptions,
  ) {
    const [c, h, w] = options.imageShape;
    this.perImage = c * h * w;
  }

  async run(batch: Float32Array, n: number): Promise<InferenceOutputs> {
    if (!Number.isInteger(n) || n < 1 || n * this.perImage > batch.length) {
      throw new RangeError(`cannot run ${n} images from a tensor holding ${Math.floor(batch.length / this.perImage)}`);
    }
    const data = batch.length === n * this.perImage ? batch : batch.subarray(0, n * this.perImage);
    const input = new ort.Tensor('float32', data, [n, ...this.options.imageShape]);
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await this.session.run({ [this.options.inputName]: input });
    } catch (err) {
      throw new MaskqError('inference_failed', `inference failed: ${message(err)}`, { cause: err, retryable: true });
    } finally {
      input.dispose();
    }
    return pickOutputs(outputs, this.options.outputNames);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function pickOutputs(outputs: ort.InferenceSession.OnnxValueMapType, names: OrtSessionOptions['outputNames']): InferenceOutputs {
  const tensors = Object.values(outputs) as ort.Tensor[];
  const byName = (name: string) => outputs[name] as ort.Tensor | undefined;
  const loc = names ? byName(names.loc) : tensors.find((t) => t.dims.at(-1) === 4);
  const cls = names ? byName(names.cls) : tensors.find((t) => t.dims.at(-1) !== 4);
  if (!loc || !cls || !(loc.data instanceof Float32Array) || !(cls.data instanceof Float32Array)) {
    throw new MaskqError('inference_failed', 'model outputs are not the expected float32 loc/cls tensors');
  }
  return { loc: loc.data, cls: cls.data };
}
