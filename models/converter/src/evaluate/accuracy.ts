import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DetectionResult } from '@maskq/shared';

export type Box = readonly [number, number, number, number];

export interface ReferenceDetection {
  label: string;
  score: number;
  box: Box;
}

export interface ReferenceImage {
  width: number;
  height: number;
  detections: ReferenceDetection[];
}

/** ../shared/fixtures/validation.json (and golden.json): reference detections by file name. */
export interface ReferenceSet {
  images: Record<string, ReferenceImage>;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Pairs boxes greedily, highest IoU first (ties: reference order, then candidate order). */
export function matchGreedy(reference: readonly { box: Box }[], candidate: readonly { box: Box }[]): Array<[number, number, number]> {
  const pairs: Array<[number, number, number]> = [];
  reference.forEach((r, i) => candidate.forEach((c, j) => pairs.push([i, j, iou(r.box, c.box)])));
  pairs.sort((x, y) => y[2] - x[2] || x[0] - y[0] || x[1] - y[1]);
  const usedR = new Set<number>();
  const usedC = new Set<number>();
  const matched: Array<[number, number, number]> = [];
  for (const p of pairs) {
    if (usedR.has(p[0]) || usedC.has(p[1])) continue;
    usedR.add(p[0]);
    usedC.add(p[1]);
    matched.push(p);
  }
  return matched;
}

export function topLabel(detections: readonly { label: string; score: number }[]): string | null {
  let best: { label: string; score: number } | null = null;
  for (const d of detections) if (!best || d.score > best.score) best = d;
  return best?.label ?? null;
}

export interface ImageAgreement {
  /** same count, and greedy IoU pairs all with the same label and IoU ≥ minIou */
  sameDetections: boolean;
  /** label of the highest-scoring detection equal (no detection on both sides counts as equal) */
  sameTopLabel: boolean;
  /** smallest IoU of the matched pairs (1 with no boxes) */
  minIou: number;
}

export function compareDetections(reference: readonly ReferenceDetection[], candidate: readonly ReferenceDetection[], minIou: number): ImageAgreement {
  const pairs = matchGreedy(reference, candidate);
  const worst = pairs.reduce((m, p) => Math.min(m, p[2]), 1);
  const sameDetections =
    reference.length === candidate.length &&
    pairs.length === reference.length &&
    pairs.every(([i, j, overlap]) => overlap >= minIou && reference[i]!.label === candidate[j]!.label);
  return { sameDetections, sameTopLabel: topLabel(reference) === topLabel(candidate), minIou: worst };
}

export interface AccuracyReport {
  images: number;
  /** share (0..1) of images with the same detections as the reference */
  sameDetections: number;
  /** share (0..1) of images with the same top label as the reference */
  sameTopLabel: number;
  /** share (0..1) of images whose top label is their file-name class (mask_*, nomask_*) */
  fileClass: number;
  /** file names that differ from the reference in count, label or IoU */
  differing: string[];
}

/** mask_* -> mask, nomask_* -> no_mask; else null. */
export function fileNameClass(name: string): string | null {
  if (name.startsWith('nomask_')) return 'no_mask';
  if (name.startsWith('mask_')) return 'mask';
  return null;
}

export type DetectBatch = (images: Uint8Array[]) => Promise<Array<DetectionResult | Error>>;

/**
 * Runs `detect` over every reference image (file-name order, in chunks) and compares each
 * answer with the reference detections.
 */
export async function evaluateAccuracy(
  detect: DetectBatch,
  reference: ReferenceSet,
  imagesDir: string,
  options: { minIou?: number; chunk?: number } = {},
): Promise<AccuracyReport> {
  const minIou = options.minIou ?? 0.85;
  const chunk = options.chunk ?? 16;
  const names = Object.keys(reference.images).sort();
  let same = 0;
  let top = 0;
  let fileClass = 0;
  const differing: string[] = [];
  for (let start = 0; start < names.length; start += chunk) {
    const batch = names.slice(start, start + chunk);
    const bytes = await Promise.all(batch.map((n) => readFile(join(imagesDir, n))));
    const results = await detect(bytes);
    results.forEach((result, k) => {
      const name = batch[k]!;
      if (result instanceof Error) throw new Error(`${name}: ${result.message}`);
      const agreement = compareDetections(reference.images[name]!.detections, result.detections, minIou);
      if (agreement.sameDetections) same++;
      else differing.push(name);
      if (agreement.sameTopLabel) top++;
      if (topLabel(result.detections) === fileNameClass(name)) fileClass++;
    });
  }
  const n = names.length;
  return { images: n, sameDetections: same / n, sameTopLabel: top / n, fileClass: fileClass / n, differing };
}

export async function readReferenceSet(file: string): Promise<ReferenceSet> {
  return JSON.parse(await readFile(file, 'utf8')) as ReferenceSet;
}
