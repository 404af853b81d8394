import type { Job } from 'bullmq';
import type { DetectJobData, DetectJobReturn } from '@maskq/shared';
import { fakeReturn } from '../../api/test/harness.js';

/**
 * What the stand-in worker answers: a result derived from the image size, so
 * two different images get different counts and a mix-up shows.
 */
export function resultForBytes(bytes: number): DetectJobReturn['result'] {
  const masked = bytes % 3;
  const unmasked = (bytes >> 2) % 2;
  const detections = [
    ...Array.from({ length: masked }, (_, i) => ({ label: 'mask' as const, score: 0.9, box: [10 + i * 40, 10, 40 + i * 40, 50] as [number, number, number, number] })),
    ...Array.from({ length: unmasked }, (_, i) => ({ label: 'no_mask' as const, score: 0.8, box: [10 + i * 40, 60, 40 + i * 40, 100] as [number, number, number, number] })),
  ];
  return { width: 320, height: 240, detections, summary: { faces: masked + unmasked, masked, unmasked } };
}

export async function fakeDetect(job: Job<DetectJobData, DetectJobReturn>): Promise<DetectJobReturn> {
  await new Promise((r) => setTimeout(r, 30)); // long enough to see `processing`
  return fakeReturn({ result: resultForBytes(job.data.bytes) });
}
