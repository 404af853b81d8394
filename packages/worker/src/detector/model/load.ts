import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaskqError, modelManifestSchema, type ModelManifest } from '@maskq/shared';
import { defaultModelDir, sha256File, toLabels, type ModelSpec } from './manifest.js';

/** The manifest (validated by the shared schema) → what the detector uses. */
export function toModelSpec(m: ModelManifest, modelDir: string): ModelSpec {
  // The preprocess writes RGB / 255 without mean subtraction; refuse a model that wants anything else.
  if (m.input.colorOrder !== 'RGB' || Math.abs(m.input.scale - 1 / 255) > 1e-9 || m.input.mean !== null) {
    throw new Error('model input must be RGB, scale 1/255, no mean (what the preprocess produces)');
  }
  const boxes = m.outputs.find((o) => o.role === 'boxes')!;
  const scores = m.outputs.find((o) => o.role === 'scores')!;
  return {
    name: m.name,
    version: m.version,
    modelPath: join(modelDir, m.model.file),
    sha256: m.model.sha256,
    inputName: m.input.name,
    imageShape: [3, m.input.height, m.input.width],
    outputNames: { loc: boxes.name, cls: scores.name },
    labels: toLabels(m.labels),
    anchors: {
      // the manifest lists [height, width]
      featureMapSizes: m.anchors.featureMapSizes.map(([h, w]) => [w, h] as const),
      sizes: m.anchors.sizes,
      ratios: m.anchors.ratios,
    },
    variances: m.anchors.variances,
    scoreThreshold: m.thresholds.score,
    iouThreshold: m.thresholds.nmsIou,
  };
}

export function parseManifest(json: unknown, modelDir: string): ModelSpec {
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return toModelSpec(parsed.data, modelDir);
}

/** Reads `model.json` of a model folder and checks the .onnx file against its sha256. */
export async function loadModelSpec(modelDir: string = defaultModelDir()): Promise<ModelSpec> {
  const dir = resolve(modelDir);
  const manifestPath = join(dir, 'model.json');
  let spec: ModelSpec;
  try {
    spec = parseManifest(JSON.parse(await readFile(manifestPath, 'utf8')), dir);
  } catch (err) {
    throw new MaskqError('unavailable', `cannot load model manifest ${manifestPath}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  let actual: string;
  try {
    actual = await sha256File(spec.modelPath);
  } catch (err) {
    throw new MaskqError('unavailable', `cannot read model file ${spec.modelPath}`, { cause: err });
  }
  if (actual !== spec.sha256) {
    throw new MaskqError('unavailable', `model file ${spec.modelPath} has sha256 ${actual}, the manifest says ${spec.sha256}`);
  }
  return spec;
}
