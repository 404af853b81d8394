import type { DetectionResult, ModelRef } from '@maskq/shared';

/**
 * The small surface the pipeline needs from the detector library. The worker
 * process adapts the real detector to it (see pipeline/detector-adapter.ts), so
 * the batch glue does not depend on the detector's internals.
 */
export interface ImageSize {
  width: number;
  height: number;
}

export interface Preprocessor {
  /** Floats one image occupies in a batch tensor (3 × H × W). */
  readonly imageElements: number;
  /**
   * Decodes `bytes` and writes the model input for one image into slot `index`
   * of `batch`. Throws MaskqError (invalid_image, unsupported_format,
   * image_too_large) for input that can never succeed.
   */
  preprocessInto(bytes: Buffer, batch: Float32Array, index: number): Promise<ImageSize>;
}

/** Raw model outputs of a whole batch, row-major: loc [n, anchors, 4], cls [n, anchors, 2]. */
export interface BatchOutput {
  loc: Float32Array;
  cls: Float32Array;
}

export interface BatchInference {
  readonly model: ModelRef;
  /**
   * Runs ONE inference over the first `n` images of `batch`. The batch buffer is
   * handed to the inference thread and comes back as `input`; `batch` must not
   * be used after the call.
   */
  run(batch: Float32Array, n: number): Promise<BatchOutput & { input: Float32Array; inferenceMs: number }>;
  close(): Promise<void>;
}

export interface Postprocessor {
  /** Detections of image `index` of the batch, in the pixels of its original size. */
  decode(output: BatchOutput, index: number, size: ImageSize): DetectionResult;
}
