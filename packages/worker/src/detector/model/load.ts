import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaskqError } from '@maskq/shared';
import { defaultModelDir, sha256File, toLabels, type ModelSpec } from './manifest.js';

/* Temporary reader until the shared modelManifestSchema lands (branch convert). */
type Json = Record<string, unknown>;
function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} must be an object`);
  return v as Json;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be a number`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new Error(`${what} must be a non-empty string`);
  return v;
}
function nums(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${what} must be an array`);
  return v.map((x, i) => num(x, `${what}[${i}]`));
}

export function parseManifest(json: unknown, modelDir: string): ModelSpec {
  const m = obj(json, 'manifest');
  const input = obj(m.input, 'input');
  const shape = nums(input.shape, 'input.shape');
  const anchors = obj(m.anchors, 'anchors');
  const thresholds = obj(m.thresholds, 'thresholds');
  const variances = nums(anchors.variances, 'anchors.variances');
  if (variances.length !== 4) throw new Error('anchors.variances must have 4 numbers');
  const labels = Array.isArray(m.labels) ? m.labels.map((l, i) => str(l, `labels[${i}]`)) : [];
  return {
    name: str(m.name, 'name'),
    version: str(m.version, 'version'),
    modelPath: join(modelDir, str(m.file, 'file')),
    sha256: str(m.sha256, 'sha256'),
    inputName: str(input.name, 'input.name'),
    imageShape: [shape.at(-3) ?? 3, shape.at(-2) ?? 0, shape.at(-1) ?? 0],
    labels: toLabels(labels),
    anchors: {
      featureMapSizes: (anchors.featureMapSizes as unknown[]).map((s, i) => {
        const v = nums(s, `anchors.featureMapSizes[${i}]`);
        return [v[0]!, v[1]!] as const;
      }),
      sizes: (anchors.sizes as unknown[]).map((s, i) => nums(s, `anchors.sizes[${i}]`)),
      ratios: (anchors.ratios as unknown[]).map((s, i) => nums(s, `anchors.ratios[${i}]`)),
    },
    variances: [variances[0]!, variances[1]!, variances[2]!, variances[3]!],
    scoreThreshold: num(thresholds.score, 'thresholds.score'),
    iouThreshold: num(thresholds.iou, 'thresholds.iou'),
  };
}

/** Reads `model.json` of a model folder and checks the .onnx file against its sha256. */
export async function loadModelSpec(modelDir: string = defaultModelDir()): Promise<ModelSpec> {
  const dir = resolve(modelDir);
  let spec: ModelSpec;
  try {
    spec = parseManifest(JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')), dir);
  } catch (err) {
    throw new MaskqError('unavailable', `cannot load model manifest ${join(dir, 'model.json')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let actual: string;
  try {
    actual = await sha256File(spec.modelPath);
  } catch (err) {
    throw new MaskqError('unavailable', `cannot read model file ${spec.modelPath}`, { cause: err });
  }
  if (actual !== spec.sha256.toLowerCase()) {
    throw new MaskqError('unavailable', `model file ${spec.modelPath} has sha256 ${actual}, manifest says ${spec.sha256}`);
  }
  return spec;
}
