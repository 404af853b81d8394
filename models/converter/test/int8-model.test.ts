import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelManifestSchema } from '@maskq/shared';
import { onnxType } from '../src/proto/schemas.js';
import { roundRangeEnd } from '../src/quantize/calibrate.js';
import { activationQuant, quantizeWeightsPerChannel, WEIGHT_QMAX } from '../src/quantize/qdq.js';
import { caffeModelDir, int8ModelDir, modelDir, validationDir } from '../../../test-support/paths.js';

const SIZE = 260;
/**
 * Measured with 7-bit weights: max |cls diff| 0.090, max |loc diff| 0.90, mean |loc diff| 0.089
 * (5972 anchors); the same on every x86 CPU, since no int16 sum saturates any more.
 */
const CLS_MAX_DIFF = 0.12;
const LOC_MAX_DIFF = 1.2;
const LOC_MEAN_DIFF = 0.12;

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

function diffs(a: Float32Array, b: Float32Array): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = d; // NaN fails
    sum += d;
  }
  return { max, mean: sum / a.length };
}

function opCounts(model: Buffer): Record<string, number> {
  const decoded = onnxType('ModelProto').decode(model) as unknown as { graph: { node: { op_type: string }[] } };
  const counts: Record<string, number> = {};
  for (const n of decoded.graph.node) counts[n.op_type] = (counts[n.op_type] ?? 0) + 1;
  return counts;
}

describe('models/face-mask/1.0.0-int8', () => {
  const manifest = async () => modelManifestSchema.parse(JSON.parse(await readFile(join(int8ModelDir, 'model.json'), 'utf8')));

  it('has an int8 manifest with the calibration it was made from', async () => {
    const m = await manifest();
    const fp32 = modelManifestSchema.parse(JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')));
    expect(m.model.precision).toBe('int8');
    expect(m.model.quantization?.format).toBe('QDQ');
    expect(m.model.quantization?.floatNodes).toHaveLength(10);
    // Same interface as the float model: the detector feeds and reads it the same way.
    expect({ ...m.input }).toEqual(fp32.input);
    expect(m.outputs).toEqual(fp32.outputs);
    expect(m.anchors).toEqual(fp32.anchors);
    const cal = m.provenance.calibration!;
    expect(cal).toMatchObject({ images: 'fixtures/validation', count: 300, order: 'file name, ascending' });
    const hash = createHash('sha256');
    const names = (await readdir(validationDir)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
    for (const name of names) hash.update(`${name}\n`).update(await readFile(join(validationDir, name)));
    expect(hash.digest('hex')).toBe(cal.sha256);
  });

  describe('in ONNX Runtime', () => {
    let session: ort.InferenceSession;
    let fp32: ort.InferenceSession;
    let optimizedDir: string;
    beforeAll(async () => {
      optimizedDir = await mkdtemp(join(tmpdir(), 'maskq-int8-opt-'));
      session = await ort.InferenceSession.create(join(int8ModelDir, 'model.onnx'), {
        graphOptimizationLevel: 'extended',
        optimizedModelFilePath: join(optimizedDir, 'optimized.onnx'),
      });
      fp32 = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), { graphOptimizationLevel: 'extended' });
    });
    afterAll(async () => {
      await session?.release();
      await fp32?.release();
      await rm(optimizedDir, { recursive: true, force: true });
    });

    it('fuses every quantized convolution into QLinearConv at level extended', async () => {
      const counts = opCounts(await readFile(join(optimizedDir, 'optimized.onnx')));
      // 8 backbone + 10 insert convolutions in int8; the 10 heads stay float Conv.
      expect(counts.QLinearConv).toBe(18);
      expect(counts.Conv).toBe(10);
      expect(counts.QuantizeLinear).toBe(1); // only the input
    });

    it('keeps every int8 weight in 7 bits, so uint8 × int8 pairs cannot saturate int16 on CPUs without VNNI', async () => {
      type Initializer = { name: string; data_type: number; raw_data?: Uint8Array };
      const decoded = onnxType('ModelProto').decode(await readFile(join(int8ModelDir, 'model.onnx'))) as unknown as { graph: { initializer: Initializer[] } };
      const int8Weights = decoded.graph.initializer.filter((t) => t.data_type === 3 /* INT8 */ && !t.name.includes('zero_point'));
      expect(int8Weights).toHaveLength(18);
      let widest = 0;
      for (const t of int8Weights) for (const b of t.raw_data!) widest = Math.max(widest, Math.abs((b << 24) >> 24));
      expect(widest).toBe(WEIGHT_QMAX);
      expect(2 * 255 * widest).toBeLessThanOrEqual(32767);
    });

    it('is close to the float model on the photo parity input', async () => {
      const input = await readF32(join(caffeModelDir, 'parity', 'photo.input.f32'));
      const feeds = { data: new ort.Tensor('float32', input, [1, 3, SIZE, SIZE]) };
      const [q, f] = await Promise.all([session.run(feeds), fp32.run(feeds)]);
      expect(session.outputNames).toEqual(['loc', 'cls']);
      expect(q.loc!.dims).toEqual([1, 5972, 4]);
      expect(q.cls!.dims).toEqual([1, 5972, 2]);
      const cls = diffs(q.cls!.data as Float32Array, f.cls!.data as Float32Array);
      const loc = diffs(q.loc!.data as Float32Array, f.loc!.data as Float32Array);
      console.log(`int8 vs float32 (photo): ${JSON.stringify({ cls, loc })}`);
      expect(cls.max).toBeLessThan(CLS_MAX_DIFF);
      expect(loc.max).toBeLessThan(LOC_MAX_DIFF);
      expect(loc.mean).toBeLessThan(LOC_MEAN_DIFF);
    });
  });
});

describe('quantization maths', () => {
  it('quantizes weights per output channel, symmetric, in 7 bits [-63, 63]', () => {
    const w = Float32Array.of(0.6, -1, 0.25, /* channel 1 */ 0.125, 0.1875, -0.5);
    const { q, scales } = quantizeWeightsPerChannel(w, 2);
    expect(WEIGHT_QMAX).toBe(63);
    expect([...q]).toEqual([38, -63, 16, 16, 24, -63]);
    expect(scales[0]).toBeCloseTo(1 / 63, 7);
    expect(scales[1]).toBeCloseTo(0.5 / 63, 9);
    // A channel of zeros gets scale 1 (not 0: DequantizeLinear would divide by it when requantizing).
    expect(quantizeWeightsPerChannel(new Float32Array(3), 1).scales[0]).toBe(1);
    // A minimum scale (room for an int32 bias) wins over a tiny range.
    expect(quantizeWeightsPerChannel(Float32Array.of(1e-30), 1, Float32Array.of(1e-3)).scales[0]).toBeCloseTo(1e-3, 9);
  });

  it('maps activation ranges to uint8 with 0 exact', () => {
    expect(activationQuant({ min: 0, max: 1 })).toEqual({ scale: Math.fround(1 / 255), zeroPoint: 0 });
    const q = activationQuant({ min: -1, max: 3 });
    expect(q.zeroPoint).toBe(64);
    expect(q.scale).toBeCloseTo(4 / 255, 7);
    // A range above 0 still includes 0 (ReLU outputs, zero padding).
    expect(activationQuant({ min: 2, max: 5.1 })).toEqual({ scale: Math.fround(5.1 / 255), zeroPoint: 0 });
  });

  it('rounds range ends outward to 4 significant digits', () => {
    expect(roundRangeEnd(24.8571)).toBe(24.86);
    expect(roundRangeEnd(10.05)).toBe(10.05);
    expect(roundRangeEnd(12.4001)).toBe(12.41);
    expect(roundRangeEnd(-0.123456)).toBe(-0.1235);
    expect(roundRangeEnd(0)).toBe(0);
  });
});
