import type { ErrorCode } from '@maskq/shared';
import type { ExecutionProvider, OrtSessionOptions } from '../detector/infer/session.js';

/** What the inference thread is started with (structured-cloned as workerData). */
export interface InferenceThreadData {
  session: Omit<OrtSessionOptions, 'logger'>;
}

/** main → thread */
export type ToThread =
  | { type: 'run'; id: number; input: ArrayBuffer; n: number }
  | { type: 'close' };

/** thread → main */
export type FromThread =
  | { type: 'ready'; executionProvider: ExecutionProvider }
  | { type: 'start-failed'; message: string }
  | { type: 'result'; id: number; loc: Float32Array; cls: Float32Array; input: ArrayBuffer; inferenceMs: number }
  | { type: 'error'; id: number; code: ErrorCode; message: string; retryable: boolean; input: ArrayBuffer }
  | { type: 'log'; level: 'info' | 'warn'; obj: object; msg?: string };
