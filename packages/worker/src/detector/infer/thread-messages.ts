import type { ErrorCode } from '@maskq/shared';
import type { ExecutionProvider, OrtSessionOptions } from './session.js';

/** What the inference thread is started with (structured-cloned as workerData). */
export interface InferenceThreadData {
  session: Omit<OrtSessionOptions, 'logger'>;
}

/**
 * The batch tensor of a run: a shared buffer is sent once and named by its id
 * afterwards (nothing moves per batch); any other buffer is transferred there and back.
 */
export type RunInput =
  | { kind: 'shared'; bufferId: number; buffer?: SharedArrayBuffer }
  | { kind: 'transferred'; buffer: ArrayBuffer };

/** main → thread */
export type ToThread =
  | { type: 'run'; id: number; input: RunInput; n: number }
  | { type: 'close' };

/** thread → main */
export type FromThread =
  | { type: 'ready'; executionProvider: ExecutionProvider }
  | { type: 'start-failed'; message: string }
  | { type: 'result'; id: number; loc: Float32Array; cls: Float32Array; input?: ArrayBuffer; inferenceMs: number }
  | { type: 'error'; id: number; code: ErrorCode; message: string; retryable: boolean; input?: ArrayBuffer }
  | { type: 'log'; level: 'info' | 'warn'; obj: object; msg?: string };
