import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caffeModelDir, modelDir } from '../../../test-support/paths.js';

const parityDir = join(caffeModelDir, 'parity');
const SIZE = 260;
const PLANE = SIZE * SIZE;
const IMAGE = 3 * PLANE;
const ANCHORS = 5972;
const TOLERANCE = 1e-4;

function readF32(file: string): Float32Array {
  const bytes = readFileSync(join(parityDir, file));
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** x[c][y][x] = ((c*7 + y*13 + x*17) % 256) / 255, as the parity references were made. */
function syntheticInput(): Float32Array {
  const x = new Float32Array(IMAGE);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < SIZE; y++) for (let i = 0; i < SIZE; i++) x[c * PLANE + y * SIZE + i] = ((c * 7 + y * 13 + i * 17) % 256) / 255;
  return x;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = d; // NaN propagates as a failure
  }
  return max;
}

const cases = [
  { name: 'synthetic', input: syntheticInput() },
  { name: 'photo', input: readF32('photo.input.f32') },
].map((c) => ({ ...c, loc: readF32(`${c.name}.loc.f32`), cls: readF32(`${c.name}.cls.f32`) }));

describe('model.onnx matches the original Caffe model (OpenCV DNN reference outputs)', () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), { graphOptimizationLevel: 'extended' });
  });
  afterAll(async () => {
    await session?.release();
  });

  it('has the declared input and outputs', () => {
    expect(session.inputNames).toEqual(['data']);
    expect(session.outputNames).toEqual(['loc', 'cls']);
  });

  it.each(cases)('$name at batch 1: max |diff| <= 1e-4 on loc and cls', async ({ input, loc, cls }) => {
    const out = await session.run({ data: new ort.Tensor('float32', input, [1, 3, SIZE, SIZE]) });
    expect(out.loc!.dims).toEqual([1, ANCHORS, 4]);
    expect(out.cls!.dims).toEqual([1, ANCHORS, 2]);
    const diffs = { loc: maxAbsDiff(out.loc!.data as Float32Array, loc), cls: maxAbsDiff(out.cls!.data as Float32Array, cls) };
    console.log(`parity batch 1: ${JSON.stringify(diffs)}`);
    expect(diffs.loc).toBeLessThanOrEqual(TOLERANCE);
    expect(diffs.cls).toBeLessThanOrEqual(TOLERANCE);
  });

  it.each(cases)('$name at index 2 of a batch of 4: max |diff| <= 1e-4', async ({ name, input, loc, cls }) => {
    // Neighbours differ from the checked image, so a batch mix-up would show.
    const other = cases.find((c) => c.name !== name)!.input;
    const batch = new Float32Array(4 * IMAGE);
    batch.set(other.map((v) => 1 - v), 0);
    batch.set(other, IMAGE);
    batch.set(input, 2 * IMAGE);
    batch.fill(0.5, 3 * IMAGE);
    const out = await session.run({ data: new ort.Tensor('float32', batch, [4, 3, SIZE, SIZE]) });
    expect(out.loc!.dims).toEqual([4, ANCHORS, 4]);
    expect(out.cls!.dims).toEqual([4, ANCHORS, 2]);
    const locAll = out.loc!.data as Float32Array;
    const clsAll = out.cls!.data as Float32Array;
    const diffs = {
      loc: maxAbsDiff(locAll.subarray(2 * ANCHORS * 4, 3 * ANCHORS * 4), loc),
      cls: maxAbsDiff(clsAll.subarray(2 * ANCHORS * 2, 3 * ANCHORS * 2), cls),
    };
    console.log(`parity batch 4 [2]: ${JSON.stringify(diffs)}`);
    expect(diffs.loc).toBeLessThanOrEqual(TOLERANCE);
    expect(diffs.cls).toBeLessThanOrEqual(TOLERANCE);
    // The neighbour at index 1 is the other parity image: its slice must match its own reference.
    const ref = cases.find((c) => c.name !== name)!;
    expect(maxAbsDiff(clsAll.subarray(ANCHORS * 2, 2 * ANCHORS * 2), ref.cls)).toBeLessThanOrEqual(TOLERANCE);
  });
});
