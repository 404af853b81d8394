import type { DetectionResult, Label } from '@maskq/shared';
import type { Anchors } from './anchors.js';
import { selectCandidates, type Variances } from './decode.js';
import { nonMaxSuppression } from './nms.js';
import { toDetectionResult } from './result.js';

export * from './anchors.js';
export * from './decode.js';
export * from './nms.js';
export * from './result.js';

export interface PostprocessParams {
  anchors: Anchors;
  labels: readonly Label[];
  variances: Variances;
  scoreThreshold: number;
  iouThreshold: number;
}

/** Model outputs of one batch item → the public result for an image of width × height. */
export function postprocess(
  outputs: { loc: Float32Array; cls: Float32Array },
  item: number,
  width: number,
  height: number,
  params: PostprocessParams,
): DetectionResult {
  const candidates = selectCandidates(
    outputs.loc,
    outputs.cls,
    item,
    params.anchors,
    params.labels.length,
    params.scoreThreshold,
    params.variances,
  );
  return toDetectionResult(nonMaxSuppression(candidates, params.iouThreshold), width, height, params.labels);
}
