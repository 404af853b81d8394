import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { modelManifestSchema } from '@maskq/shared';
import { caffeModelDir, modelDir } from '../../../test-support/paths.js';

/** The manifest as loose JSON, for breaking it on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;

const raw = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as Record<string, unknown>;

describe('models/face-mask/1.0.0/model.json', () => {
  it('validates against modelManifestSchema with the facts of the model', () => {
    const m = modelManifestSchema.parse(raw);
    expect(m.name).toBe('aizoo-face-mask');
    expect(m.version).toBe('1.0.0');
    expect(m.input).toMatchObject({ name: 'data', width: 260, height: 260, layout: 'NCHW', colorOrder: 'RGB', mean: null });
    expect(m.input.scale).toBeCloseTo(1 / 255, 15);
    expect(m.outputs.map((o) => [o.name, o.role, o.shape])).toEqual([
      ['loc', 'boxes', ['batch', 5972, 4]],
      ['cls', 'scores', ['batch', 5972, 2]],
    ]);
    expect(m.labels).toEqual(['mask', 'no_mask']);
    expect(m.anchors.featureMapSizes).toEqual([[33, 33], [17, 17], [9, 9], [5, 5], [3, 3]]);
    expect(m.thresholds).toEqual({ score: 0.5, nmsIou: 0.4 });
    expect(m.provenance.source).toMatchObject({ repository: 'https://github.com/AIZOOTech/FaceMaskDetection', commit: '256dc65' });
    expect(m.license.spdx).toBe('MIT');
  });

  it('records the sha256 of the Caffe files it was made from', async () => {
    const { createHash } = await import('node:crypto');
    const m = modelManifestSchema.parse(raw);
    for (const file of m.provenance.source.files) {
      const digest = createHash('sha256').update(readFileSync(join(caffeModelDir, file.name))).digest('hex');
      expect(digest, file.name).toBe(file.sha256);
    }
    expect(m.provenance.source.files.map((f) => f.name).sort()).toEqual(['face_mask_detection.caffemodel', 'face_mask_detection.prototxt']);
  });

  it('ships the licence file it names', () => {
    const m = modelManifestSchema.parse(raw);
    expect(readFileSync(join(modelDir, m.license.file))).toEqual(readFileSync(join(caffeModelDir, 'LICENSE')));
  });

  it('names the input and outputs the ONNX model really has, with a dynamic batch', async () => {
    const m = modelManifestSchema.parse(raw);
    const session = await ort.InferenceSession.create(join(modelDir, m.model.file), { graphOptimizationLevel: 'extended' });
    try {
      expect(session.inputNames).toEqual([m.input.name]);
      expect(session.outputNames).toEqual(m.outputs.map((o) => o.name));
      const input = session.inputMetadata[0] as { isTensor: boolean; shape?: (number | string)[] };
      expect(input.shape).toEqual(m.input.shape);
    } finally {
      await session.release();
    }
  });

  it.each([
    ['an anchor count that disagrees with the outputs', (m: Mutable) => (m.anchors.featureMapSizes[0] = [32, 32]), /one row per anchor/],
    ['a scores width that is not the label count', (m: Mutable) => m.labels.push('unknown'), /one value per label/],
    ['a malformed sha256', (m: Mutable) => (m.model.sha256 = 'abc'), /sha256/],
    ['a colour order the worker cannot honour', (m: Mutable) => (m.input.colorOrder = 'YUV'), /colorOrder/],
    ['a missing threshold', (m: Mutable) => delete m.thresholds.nmsIou, /nmsIou/],
  ])('rejects %s', (_what, mutate, message) => {
    const broken = structuredClone(raw);
    mutate(broken);
    const result = modelManifestSchema.safeParse(broken);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});
