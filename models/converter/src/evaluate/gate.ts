import type { AccuracyReport } from './accuracy.js';

/** When an int8 model may replace the float one as the default (issue "Performance"). */
export const int8GateThresholds = {
  /** share of images with the reference's count and labels, every box IoU ≥ 0.85 */
  sameDetections: 0.97,
  /** share of images with the reference's top label */
  sameTopLabel: 0.99,
} as const;

export interface GateDecision {
  serveInt8: boolean;
  /** why not, one line per failed condition (empty when it passes) */
  reasons: string[];
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

/**
 * The int8 model passes when it meets both thresholds and agrees with the reference at
 * least as often as the float model does, on both measures.
 */
export function int8GateDecision(int8: AccuracyReport, fp32: AccuracyReport): GateDecision {
  const reasons: string[] = [];
  if (int8.sameDetections < int8GateThresholds.sameDetections) {
    reasons.push(`same detections ${pct(int8.sameDetections)} < ${pct(int8GateThresholds.sameDetections)}`);
  }
  if (int8.sameTopLabel < int8GateThresholds.sameTopLabel) {
    reasons.push(`same top label ${pct(int8.sameTopLabel)} < ${pct(int8GateThresholds.sameTopLabel)}`);
  }
  if (int8.sameDetections < fp32.sameDetections) {
    reasons.push(`same detections ${pct(int8.sameDetections)} < float32's ${pct(fp32.sameDetections)}`);
  }
  if (int8.sameTopLabel < fp32.sameTopLabel) reasons.push(`same top label ${pct(int8.sameTopLabel)} < float32's ${pct(fp32.sameTopLabel)}`);
  return { serveInt8: reasons.length === 0, reasons };
}
