import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labels as knownLabels, type Label } from '@maskq/shared';
import type { AnchorConfig } from '../postprocess/anchors.js';
import type { Variances } from '../postprocess/decode.js';

/** Everything the detector needs to know about a model, read from its manifest. */
export interface ModelSpec {
  name: string;
  version: string;
  modelPath: string;
  sha256: string;
  inputName: string;
  /** [channels, height, width] of one image */
  imageShape: [number, number, number];
  outputNames?: { loc: string; cls: string };
  labels: Label[];
  anchors: AnchorConfig;
  variances: Variances;
  scoreThreshold: number;
  iouThreshold: number;
}

/** `models/face-mask/1.0.0` of the repository, found from this file (src/ or dist/ alike). */
export function defaultModelDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // packages/worker/{src,dist}/detector/model → repo root
  return resolve(here, '..', '..', '..', '..', '..', 'models', 'face-mask', '1.0.0');
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export function toLabels(values: readonly string[]): Label[] {
  return values.map((v) => {
    if (!(knownLabels as readonly string[]).includes(v)) throw new Error(`unknown label "${v}" in model manifest`);
    return v as Label;
  });
}
