import type { DetectJob } from '@maskq/shared';
import { toJobFailure } from '../errors/job-failure.js';
import type { FetchedImage, Rejected } from './fetch-blobs.js';
import type { ImageSize, Preprocessor } from './detector-port.js';

export interface Slot {
  job: DetectJob;
  /** Position of the image in the batch tensor. */
  index: number;
  size: ImageSize;
  /** The original bytes, kept only for jobs that asked for an annotated image (rendered at publish). */
  bytes?: Buffer;
}

/**
 * Decodes every image in parallel (sharp works off the JS thread) straight into
 * its slot of one batch tensor. A bad image only loses its own slot; the slot
 * stays in the tensor (its output is ignored) so no copying is needed.
 */
export async function preprocessBatch(
  images: FetchedImage[],
  preprocessor: Preprocessor,
  tensor: Float32Array,
): Promise<{ slots: Slot[]; rejected: Array<Rejected & { error: unknown }> }> {
  const settled = await Promise.allSettled(images.map(({ bytes }, index) => preprocessor.preprocessInto(bytes, tensor, index)));
  const slots: Slot[] = [];
  const rejected: Array<Rejected & { error: unknown }> = [];
  settled.forEach((outcome, index) => {
    const job = images[index]!.job;
    if (outcome.status === 'fulfilled') {
      const slot: Slot = { job, index, size: outcome.value };
      if (job.data.annotate) slot.bytes = images[index]!.bytes;
      slots.push(slot);
    }
    else rejected.push({ job, error: outcome.reason, failure: toJobFailure(outcome.reason, 'internal_error', 'image preprocessing failed') });
  });
  return { slots, rejected };
}
