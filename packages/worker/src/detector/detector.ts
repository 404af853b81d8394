import type { DetectionResult } from '@maskq/shared';
import { MaskqError } from '@maskq/shared';
import { createOrtSession, type DetectorLogger, type ExecutionProvider, type GraphOptimizationLevel, type InferenceSession, type OrtSessionOptions } from './infer/session.js';
import { InferenceThreadPool } from './infer/thread-pool.js';
import { loadModelSpec } from './model/load.js';
import type { ModelSpec } from './model/manifest.js';
import { generateAnchors, postprocess, type PostprocessParams } from './postprocess/index.js';
import { createBatchTensor, defaultMaxPixels, imageTensorSize, preprocessInto, type TensorGeometry } from './preprocess/index.js';

export interface DetectorOptions {
  /** Folder with model.json and the .onnx file; default: the repository's models/face-mask/1.0.0. */
  modelDir?: string;
  executionProvider?: ExecutionProvider;
  /** CUDA requested but unusable: true (default) falls back to CPU with a warning, false fails. */
  cudaFallback?: boolean;
  /**
   * ONNX Runtime threads per session. 0 or absent: ONNX Runtime picks (one per core) for the
   * in-process session, 1 per thread with `inferenceThreads`.
   */
  intraOpThreads?: number;
  /**
   * Run inference on this many worker_threads, each with its own session. onnxruntime-node's
   * `run` blocks the calling thread, so by default (0) decoding and inference take turns;
   * with threads, `detectBatch` decodes the next chunk while earlier ones infer, up to one
   * chunk per thread at once. One per core was the fastest on an AVX2 CPU (2 cores: ~1.3× the
   * images/s of the default) and no faster on an AVX-512 one (docs/detector.md); use 1 with
   * CUDA (one GPU session).
   */
  inferenceThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** false stops idle ONNX Runtime threads from spinning (kinder to a shared CPU). */
  intraOpSpinning?: boolean;
  /** Largest accepted image in pixels (width × height), checked on the header before decoding. Default 50 M. */
  maxPixels?: number;
  /** Images per inference call in detectBatch. Default 16. */
  maxBatchSize?: number;
  /** Overrides of the manifest's thresholds. */
  scoreThreshold?: number;
  iouThreshold?: number;
  logger?: DetectorLogger;
  /** Run inference somewhere else (e.g. on a worker_thread); default: an in-process ONNX Runtime session. */
  session?: InferenceSession;
}

export const defaultMaxBatchSize = 16;

function asMaskqError(err: unknown): MaskqError {
  if (err instanceof MaskqError) return err;
  return new MaskqError('internal_error', err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * Face-mask detection on image bytes: decode → 260×260 tensor → ONNX Runtime →
 * boxes. One instance holds one inference session; create one per process.
 */
export class Detector {
  private closed = false;

  private constructor(
    readonly model: ModelSpec,
    private readonly session: InferenceSession,
    private readonly params: PostprocessParams,
    private readonly geometry: TensorGeometry,
    private readonly maxPixels: number,
    readonly maxBatchSize: number,
    private readonly chunksInFlight: number,
  ) {}

  static async create(options: DetectorOptions = {}): Promise<Detector> {
    const model = await loadModelSpec(options.modelDir);
    const maxBatchSize = options.maxBatchSize ?? defaultMaxBatchSize;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError('maxBatchSize must be a positive integer');
    const threads = options.inferenceThreads ?? 0;
    if (!Number.isInteger(threads) || threads < 0) throw new RangeError('inferenceThreads must be a non-negative integer');
    const sessionOptions: OrtSessionOptions = {
      model: model.modelPath,
      inputName: model.inputName,
      imageShape: model.imageShape,
      outputNames: model.outputNames,
      executionProvider: options.executionProvider,
      cudaFallback: options.cudaFallback,
      intraOpThreads: options.intraOpThreads ?? (threads > 0 ? 1 : undefined),
      graphOptimizationLevel: options.graphOptimizationLevel,
      intraOpSpinning: options.intraOpSpinning,
    };
    const session =
      options.session ??
      (threads > 0
        ? await InferenceThreadPool.start({ size: threads, session: sessionOptions, model: { name: model.name, version: model.version }, logger: options.logger })
        : await createOrtSession({ ...sessionOptions, logger: options.logger }));
    // In flight at once in detectBatch: one chunk per inference thread, plus one decoding.
    const chunksInFlight = !options.session && threads > 0 ? threads + 1 : 1;
    const params: PostprocessParams = {
      anchors: generateAnchors(model.anchors),
      labels: model.labels,
      variances: model.variances,
      scoreThreshold: options.scoreThreshold ?? model.scoreThreshold,
      iouThreshold: options.iouThreshold ?? model.iouThreshold,
    };
    const geometry = { width: model.imageShape[2], height: model.imageShape[1] };
    return new Detector(model, session, params, geometry, options.maxPixels ?? defaultMaxPixels, maxBatchSize, chunksInFlight);
  }

  get executionProvider(): ExecutionProvider {
    return this.session.executionProvider;
  }

  /** Detects faces in one image. Throws MaskqError (invalid_image, unsupported_format, image_too_large, inference_failed). */
  async detect(bytes: Uint8Array): Promise<DetectionResult> {
    const [result] = await this.detectBatch([bytes]);
    if (result instanceof MaskqError) throw result;
    if (result === undefined) throw new MaskqError('internal_error', 'no result');
    return result;
  }

  /**
   * Detects faces in many images, in inference batches of `maxBatchSize`.
   * Each item gets its result or its own MaskqError: one bad image fails only itself.
   */
  async detectBatch(images: readonly Uint8Array[]): Promise<Array<DetectionResult | MaskqError>> {
    if (this.closed) throw new MaskqError('unavailable', 'detector is closed');
    const chunks: Array<readonly Uint8Array[]> = [];
    for (let start = 0; start < images.length; start += this.maxBatchSize) chunks.push(images.slice(start, start + this.maxBatchSize));
    const results: Array<Array<DetectionResult | MaskqError>> = new Array(chunks.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < chunks.length) {
        const i = next++;
        results[i] = await this.runChunk(chunks[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.chunksInFlight, chunks.length) }, lane));
    return results.flat();
  }

  private async runChunk(images: readonly Uint8Array[]): Promise<Array<DetectionResult | MaskqError>> {
    const slotSize = imageTensorSize(this.geometry);
    const tensor = createBatchTensor(images.length, this.geometry);
    // Decoding runs on libuv's thread pool, so the images of a chunk decode in parallel.
    const prepared = await Promise.allSettled(
      images.map((bytes, i) => preprocessInto(bytes, tensor, i, { maxPixels: this.maxPixels, geometry: this.geometry })),
    );
    const results: Array<DetectionResult | MaskqError | undefined> = new Array(images.length);
    // Pack the images that decoded into the first slots, so failed ones cost no inference.
    const okItems: Array<{ item: number; width: number; height: number }> = [];
    prepared.forEach((p, i) => {
      if (p.status === 'rejected') {
        results[i] = asMaskqError(p.reason);
        return;
      }
      const slot = okItems.length;
      if (slot !== i) tensor.copyWithin(slot * slotSize, i * slotSize, (i + 1) * slotSize);
      okItems.push({ item: i, ...p.value });
    });
    if (okItems.length > 0) {
      try {
        const outputs = await this.session.run(tensor, okItems.length);
        okItems.forEach(({ item, width, height }, slot) => {
          try {
            results[item] = postprocess(outputs, slot, width, height, this.params);
          } catch (err) {
            results[item] = asMaskqError(err);
          }
        });
      } catch (err) {
        const error = asMaskqError(err);
        for (const { item } of okItems) results[item] = error;
      }
    }
    return results.map((r) => r ?? new MaskqError('internal_error', 'image was not processed'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.close();
  }
}
