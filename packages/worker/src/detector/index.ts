/**
 * @maskq/worker/detector — face-mask detection as a library, usable without
 * Redis or the worker: `const d = await Detector.create(); await d.detect(bytes)`.
 */
export { Detector, defaultMaxBatchSize, type DetectorOptions } from './detector.js';
export * from './preprocess/index.js';
export * from './postprocess/index.js';
export {
  createOrtSession,
  type DetectorLogger,
  type ExecutionProvider,
  type GraphOptimizationLevel,
  type InferenceOutputs,
  type InferenceSession,
  type OrtSessionOptions,
} from './infer/session.js';
export { InferenceThreadPool, type InferenceThreadPoolOptions } from './infer/thread-pool.js';
export { defaultModelDir, type ModelSpec } from './model/manifest.js';
export { loadModelSpec, parseManifest, toModelSpec } from './model/load.js';
export { runtimeVersions } from './versions.js';
