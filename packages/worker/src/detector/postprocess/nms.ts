import type { Box, Candidate } from './decode.js';

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression over all classes together (a face is either
 * masked or not): take the best box, drop every box overlapping it by more
 * than `iouThreshold`, repeat. Returns the kept candidates, best first.
 */
export function nonMaxSuppression(candidates: readonly Candidate[], iouThreshold: number): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  const suppressed = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    if (suppressed[i]) continue;
    const best = sorted[i]!;
    kept.push(best);
    for (let j = i + 1; j < sorted.length; j++) {
      if (!suppressed[j] && iou(best.box, sorted[j]!.box) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}
