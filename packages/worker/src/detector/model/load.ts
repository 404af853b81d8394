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
  const model = obj(m.model, 'model');
  const input = obj(m.input, 'input');
  const anchors = obj(m.anchors, 'anchors');
  const thresholds = obj(m.thresholds, 'thresholds');
  const variances = nums(anchors.variances, 'anchors.variances');
  if (variances.length !== 4) throw new Error('anchors.variances must have 4 numbers');
  const outputs = Array.isArray(m.outputs) ? m.outputs.map((o, i) => obj(o, `outputs[${i}]`)) : [];
  const boxes = outputs.find((o) => o.role === 'boxes');
  const scores = outputs.find((o) => o.role === 'scores');
  // The preprocess writes RGB / 255 without mean subtraction; refuse a model that wants anything else.
  if (input.colorOrder !== 'RGB' || Math.abs(num(input.scale, 'input.scale') - 1 / 255) > 1e-9 || (input.mean ?? null) !== null) {
    throw new Error('input must be RGB, scale 1/255, no mean (what the preprocess produces)');
  }
  const labels = Array.isArray(m.labels) ? m.labels.map((l, i) => str(l, `labels[${i}]`)) : [];
  const list = (v: unknown, what: string) => {
    if (!Array.isArray(v)) throw new Error(`${what} must be an array`);
    return v.map((x, i) => nums(x, `${what}[${i}]`));
  };
  return {
    name: str(m.name, 'name'),
    version: str(m.version, 'version'),
    modelPath: join(modelDir, str(model.file, 'model.file')),
    sha256: str(model.sha256, 'model.sha256'),
    inputName: str(input.name, 'input.name'),
    imageShape: [3, num(input.height, 'input.height'), num(input.width, 'input.width')],
    outputNames: boxes && scores ? { loc: str(boxes.name, 'outputs.name'), cls: str(scores.name, 'outputs.name') } : undefined,
    labels: toLabels(labels),
    anchors: {
      // the manifest lists [height, width]
      featureMapSizes: list(anchors.featureMapSizes, 'anchors.featureMapSizes').map((s) => [s[1]!, s[0]!] as const),
      sizes: list(anchors.sizes, 'anchors.sizes'),
      ratios: list(anchors.ratios, 'anchors.ratios'),
    },
    variances: [variances[0]!, variances[1]!, variances[2]!, variances[3]!],
    scoreThreshold: num(thresholds.score, 'thresholds.score'),
    iouThreshold: num(thresholds.nmsIou, 'thresholds.nmsIou'),
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
