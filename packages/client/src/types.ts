// Types only: erased at build time, so the client has no runtime dependency on @maskq/shared.
import type { DetectionResult, ErrorCode, JobResource, JobStatus } from '@maskq/shared';

export type { Detection, DetectionResult, ErrorCode, JobResource, JobStatus, Label } from '@maskq/shared';

export const terminalStatuses: readonly JobStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface AcceptedJob {
  id: string;
  status: 'queued';
  links: { self: string };
}

export type BatchEntry =
  | { index: number; id: string; status: 'queued'; links: { self: string } }
  | { index: number; filename?: string; error: { code: ErrorCode; message: string } };

export interface DetectResponse {
  success: true;
  id: string;
  result: DetectionResult;
  /** seconds from submission to the worker finishing */
  processing_time: number;
}

/** A finished job (any final status). */
export type FinishedJob = JobResource & { status: 'completed' | 'failed' | 'expired' | 'cancelled' };

/** `MaskqClient.finishedJobs()`: every finished job of the caller, while open. */
export interface FinishedJobStream extends AsyncIterable<FinishedJob> {
  close(): void;
}
