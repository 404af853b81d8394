import type { BlobStore, DetectJob } from '@maskq/shared';
import { jobFailure, type JobFailure } from '../errors/job-failure.js';

export interface FetchedImage {
  job: DetectJob;
  bytes: Buffer;
}

export interface Rejected {
  job: DetectJob;
  failure: JobFailure;
}

/**
 * First step of a batch: drop jobs whose deadline passed while they waited, then
 * read every image in ONE round trip. A missing blob means its TTL ran out (or
 * the job was cancelled): no attempt can bring the bytes back, so it fails for
 * good as `expired`. A Redis error rejects the whole call (transient).
 */
export async function fetchBlobs(jobs: DetectJob[], blobStore: BlobStore, now = Date.now()): Promise<{ images: FetchedImage[]; rejected: Rejected[] }> {
  const rejected: Rejected[] = [];
  const live: DetectJob[] = [];
  for (const job of jobs) {
    const deadline = job.data.deadline;
    if (deadline !== undefined && deadline < now) {
      rejected.push({ job, failure: jobFailure('expired', 'the job deadline passed before processing started', false) });
    } else {
      live.push(job);
    }
  }
  const blobs = await blobStore.getMany(live.map((job) => job.data.blobKey));
  const images: FetchedImage[] = [];
  live.forEach((job, i) => {
    const bytes = blobs[i];
    if (bytes) images.push({ job, bytes });
    else rejected.push({ job, failure: jobFailure('expired', 'the image is no longer stored (its retention expired)', false) });
  });
  return { images, rejected };
}
