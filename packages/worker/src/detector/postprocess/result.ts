import type { Detection, DetectionResult, Label } from '@maskq/shared';
import type { Box, Candidate } from './decode.js';

export function roundTo(value: number, decimals: number): number {
  const f = 10 ** decimals;
  // + 0 turns -0 into 0 so JSON never shows "-0".
  return Math.round(value * f) / f + 0;
}

/** A normalised box clipped to the image and scaled to its pixels. */
export function toPixelBox(box: Box, width: number, height: number): Box {
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  return [clip(box[0]) * width, clip(box[1]) * height, clip(box[2]) * width, clip(box[3]) * height];
}

/** Builds the public result: best first, scores to 4 decimals, boxes to 0.1 px, a summary per label. */
export function toDetectionResult(
  kept: readonly Candidate[],
  width: number,
  height: number,
  labels: readonly Label[],
): DetectionResult {
  const detections: Detection[] = [...kept]
    .sort((a, b) => b.score - a.score)
    .map((c) => {
      const label = labels[c.classIndex];
      if (label === undefined) throw new Error(`class index ${c.classIndex} has no label`);
      const [x1, y1, x2, y2] = toPixelBox(c.box, width, height);
      return {
        label,
        score: roundTo(c.score, 4),
        box: [roundTo(x1, 1), roundTo(y1, 1), roundTo(x2, 1), roundTo(y2, 1)],
      };
    });
  const masked = detections.filter((d) => d.label === 'mask').length;
  return {
    width,
    height,
    detections,
    summary: { faces: detections.length, masked, unmasked: detections.length - masked },
  };
}
