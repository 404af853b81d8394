import type { Anchors } from './anchors.js';

/** A box normalised to the image: [x1, y1, x2, y2]. */
export type Box = [number, number, number, number];

export type Variances = readonly [number, number, number, number];

/**
 * Decodes the SSD offsets of anchor `i`: cx = dx·v0·aw + acx, cy = dy·v1·ah + acy,
 * w = exp(dw·v2)·aw, h = exp(dh·v3)·ah. `loc` holds [dx, dy, dw, dh] per anchor
 * starting at `locOffset` (the first anchor of the image in a batch output).
 */
export function decodeBox(loc: Float32Array, locOffset: number, anchors: Anchors, i: number, variances: Variances): Box {
  const a = i * 4;
  const l = locOffset + i * 4;
  const acx = anchors.data[a]!;
  const acy = anchors.data[a + 1]!;
  const aw = anchors.data[a + 2]!;
  const ah = anchors.data[a + 3]!;
  const cx = loc[l]! * variances[0] * aw + acx;
  const cy = loc[l + 1]! * variances[1] * ah + acy;
  const w = Math.exp(loc[l + 2]! * variances[2]) * aw;
  const h = Math.exp(loc[l + 3]! * variances[3]) * ah;
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
}

export interface Candidate {
  box: Box;
  score: number;
  classIndex: number;
}

/**
 * Keeps anchors whose best class score is above the threshold and decodes only
 * those (a few dozen of 5972). Scores are the model's sigmoid outputs.
 */
export function selectCandidates(
  loc: Float32Array,
  cls: Float32Array,
  item: number,
  anchors: Anchors,
  numClasses: number,
  scoreThreshold: number,
  variances: Variances,
): Candidate[] {
  const locOffset = item * anchors.count * 4;
  const clsOffset = item * anchors.count * numClasses;
  const out: Candidate[] = [];
  for (let i = 0; i < anchors.count; i++) {
    const c = clsOffset + i * numClasses;
    let best = 0;
    let score = cls[c]!;
    for (let k = 1; k < numClasses; k++) {
      const s = cls[c + k]!;
      if (s > score) {
        score = s;
        best = k;
      }
    }
    if (score > scoreThreshold) out.push({ box: decodeBox(loc, locOffset, anchors, i, variances), score, classIndex: best });
  }
  return out;
}
