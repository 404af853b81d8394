import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createBatchTensor, defaultMaxPixels, preprocessInto } from '@maskq/worker/detector';
import type { TensorRange } from './qdq.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  /** Float ONNX model whose outputs include every tensor in `tensors`. */
  model: Uint8Array;
  /** Tensors to calibrate (outputs of `model`, or its input). */
  tensors: string[];
  inputName: string;
  /** Image files, in the order they are fed (the result does not depend on it, but logs do). */
  images: string[];
  method: CalibrationMethod;
  /** percentile: the fraction of values (of each tensor, over all images) the range must keep. */
  percentile?: number;
}

export interface CalibrationResult {
  ranges: Map<string, TensorRange>;
  /** sha256 over file names and bytes, in order: which images made these ranges. */
  imagesSha256: string;
}

const IMAGE_EXTENSIONS = /\.(jpe?g|png)$/i;

/** The calibration images of a folder, sorted by file name (a fixed order). */
export async function listCalibrationImages(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXTENSIONS.test(n)).sort();
  if (names.length === 0) throw new Error(`no calibration images (.jpg, .png) in ${dir}`);
  return names.map((n) => join(dir, n));
}

/**
 * Rounds a range end outward (|v| up) to 4 significant digits, so the last bits of float
 * arithmetic (another CPU's kernels) rarely change the model bytes.
 */
export function roundRangeEnd(v: number): number {
  if (v === 0) return 0;
  const r = Number(Math.abs(v).toPrecision(4));
  const up = r < Math.abs(v) ? r + 10 ** (Math.floor(Math.log10(Math.abs(v))) - 3) : r;
  return Math.sign(v) * Number(up.toPrecision(4));
}

const BINS = 4096;

/**
 * Runs the images through the float model (the detector's own preprocessing: sharp decode,
 * half-pixel bilinear resize, /255) and records each tensor's range: 'minmax' keeps the
 * extremes, 'percentile' clips the max at the given fraction of values (histogram of the
 * non-negative values over [0, max], 4096 bins; tensors here are ReLU outputs).
 */
export async function calibrate(options: CalibrationOptions): Promise<CalibrationResult> {
  const session = await ort.InferenceSession.create(options.model, {
    graphOptimizationLevel: 'extended',
    intraOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const hash = createHash('sha256');
  const outputs = options.tensors.filter((t) => t !== options.inputName);
  const ranges = new Map<string, TensorRange>(options.tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const inputs: Float32Array[] = [];
  try {
    const tensor = createBatchTensor(1);
    const passes = options.method === 'percentile' ? 2 : 1;
    const histograms = new Map<string, Float64Array>();
    const counts = new Map<string, number>();
    for (let pass = 0; pass < passes; pass++) {
      for (const [i, file] of options.images.entries()) {
        let input: Float32Array;
        if (pass === 0) {
          const bytes = await readFile(file);
          hash.update(`${file.split('/').pop()}\n`).update(bytes);
          await preprocessInto(bytes, tensor, 0, { maxPixels: defaultMaxPixels });
          input = tensor.slice();
          if (passes > 1) inputs.push(input);
        } else {
          input = inputs[i]!;
        }
        const result = await session.run({ [options.inputName]: new ort.Tensor('float32', input, [1, ...[3, 260, 260]]) }, outputs);
        const values = new Map<string, Float32Array>(outputs.map((name) => [name, result[name]!.data as Float32Array]));
        values.set(options.inputName, input);
        for (const [name, data] of values) {
          if (!ranges.has(name)) continue;
          if (pass === 0) {
            const r = ranges.get(name)!;
            let min = r.min;
            let max = r.max;
            for (let k = 0; k < data.length; k++) {
              const v = data[k]!;
              if (v < min) min = v;
              if (v > max) max = v;
            }
            r.min = min;
            r.max = max;
          } else {
            const max = ranges.get(name)!.max;
            let h = histograms.get(name);
            if (!h) histograms.set(name, (h = new Float64Array(BINS)));
            for (let k = 0; k < data.length; k++) {
              const v = data[k]!;
              if (v > 0) h[Math.min(BINS - 1, Math.floor((v / max) * BINS))]! += 1;
            }
            counts.set(name, (counts.get(name) ?? 0) + data.length);
          }
        }
      }
    }
    if (options.method === 'percentile') {
      const keep = options.percentile ?? 0.9999;
      for (const [name, h] of histograms) {
        const r = ranges.get(name)!;
        // Zeros (below bin 0's lower edge is impossible: v > 0) count as kept values.
        const total = counts.get(name)!;
        let seen = total - h.reduce((a, b) => a + b, 0);
        let bin = 0;
        for (; bin < BINS; bin++) {
          seen += h[bin]!;
          if (seen >= keep * total) break;
        }
        r.max = Math.min(r.max, ((bin + 1) / BINS) * r.max);
      }
    }
  } finally {
    await session.release();
  }
  for (const r of ranges.values()) {
    r.min = roundRangeEnd(r.min);
    r.max = roundRangeEnd(r.max);
  }
  return { ranges, imagesSha256: hash.digest('hex') };
}
