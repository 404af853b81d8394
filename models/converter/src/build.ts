import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelManifestSchema, type ModelManifest } from '@maskq/shared';
import { loadCaffeNet } from './caffe/load.js';
import { caffeToOnnxGraph, type ConvertResult } from './convert.js';
import type { GraphBuilder } from './onnx/graph-builder.js';
import { faceMaskModel } from './models/face-mask.js';

/** Opset 13: everything this graph uses, well supported by onnxruntime 1.x. IR 7 goes with it. */
export const OPSET = 13;
export const IR_VERSION = 7;
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'model.json';
export const LICENSE_FILE = 'LICENSE';
export const CONVERT_COMMAND = 'pnpm convert';

const converterPackage = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BuiltModel {
  /** File name -> exact bytes, in the order they are written. */
  files: Map<string, Buffer>;
  manifest: ModelManifest;
}

interface ConvertedFaceMask {
  graph: ConvertResult;
  prototxt: Buffer;
  caffemodel: Buffer;
  license: Buffer;
}

/** Reads the Caffe files in `sourceDir` and converts them to a float ONNX graph (dynamic batch). */
export async function convertFaceMask(sourceDir: string): Promise<ConvertedFaceMask> {
  const spec = faceMaskModel;
  const prototxtPath = join(sourceDir, spec.source.prototxt);
  const caffemodelPath = join(sourceDir, spec.source.caffemodel);
  const [prototxt, caffemodel, license] = await Promise.all([
    readFile(prototxtPath),
    readFile(caffemodelPath),
    readFile(join(sourceDir, spec.source.license)),
  ]);
  const caffe = await loadCaffeNet(prototxtPath, caffemodelPath);
  const graph = caffeToOnnxGraph(caffe, {
    batchDim: 'batch',
    outputs: spec.outputs.map((o) => ({ blob: o.blob, name: o.name })),
  });
  return { graph, prototxt, caffemodel, license };
}

/** Serializes a face-mask graph with the model's identity as metadata. */
export function encodeFaceMask(builder: GraphBuilder, extraDoc = '', extraMetadata: Record<string, string> = {}): Buffer {
  const spec = faceMaskModel;
  return Buffer.from(
    builder.encode({
      graphName: spec.name,
      opset: OPSET,
      irVersion: IR_VERSION,
      producerName: converterPackage.name,
      producerVersion: converterPackage.version,
      docString: `${spec.description} Converted from Caffe (${spec.source.repository} @ ${spec.source.commit}).${extraDoc}`,
      metadata: {
        labels: spec.labels.join(','),
        license: spec.source.spdx,
        name: spec.name,
        source: `${spec.source.repository}@${spec.source.commit}`,
        version: spec.version,
        ...extraMetadata,
      },
    }),
  );
}

export interface ManifestExtras {
  precision: 'float32' | 'int8';
  command: string;
  quantization?: ModelManifest['model']['quantization'];
  calibration?: ModelManifest['provenance']['calibration'];
}

/** The manifest of a converted face-mask model file. */
export function faceMaskManifest(converted: ConvertedFaceMask, onnx: Buffer, extras: ManifestExtras): ModelManifest {
  const spec = faceMaskModel;
  const { graph, prototxt, caffemodel } = converted;
  const featureMapSizes = spec.levelLayers.map((layer) => {
    const name = graph.layerOutputs.get(layer);
    const shape = name === undefined ? undefined : graph.shapes.get(name);
    if (!shape || typeof shape[2] !== 'number' || typeof shape[3] !== 'number') {
      throw new Error(`cannot find the feature map size of level layer ${layer}`);
    }
    return [shape[2], shape[3]] as [number, number];
  });
  const [, , height, width] = graph.input.shape;
  return modelManifestSchema.parse({
    schemaVersion: 1,
    name: spec.name,
    version: spec.version,
    description: spec.description,
    model: {
      file: MODEL_FILE,
      format: 'onnx',
      opset: OPSET,
      precision: extras.precision,
      bytes: onnx.length,
      sha256: sha256(onnx),
      ...(extras.quantization ? { quantization: extras.quantization } : {}),
    },
    input: {
      name: graph.input.name,
      dtype: 'float32',
      layout: 'NCHW',
      shape: graph.input.shape,
      width,
      height,
      colorOrder: spec.input.colorOrder,
      scale: spec.input.scale,
      mean: spec.input.mean,
    },
    outputs: spec.outputs.map((o, i) => ({
      name: graph.outputs[i]!.name,
      role: o.role,
      dtype: 'float32',
      shape: graph.outputs[i]!.shape,
      description: o.description,
    })),
    labels: spec.labels,
    anchors: { featureMapSizes, sizes: spec.anchors.sizes, ratios: spec.anchors.ratios, variances: spec.anchors.variances },
    thresholds: spec.thresholds,
    provenance: {
      source: {
        repository: spec.source.repository,
        commit: spec.source.commit,
        files: [
          { name: spec.source.prototxt, sha256: sha256(prototxt) },
          { name: spec.source.caffemodel, sha256: sha256(caffemodel) },
        ],
      },
      converter: { package: converterPackage.name, version: converterPackage.version, command: extras.command },
      ...(extras.calibration ? { calibration: extras.calibration } : {}),
    },
    license: { spdx: spec.source.spdx, file: LICENSE_FILE },
  });
}

export function modelFiles(onnx: Buffer, manifest: ModelManifest, license: Buffer): Map<string, Buffer> {
  return new Map([
    [MODEL_FILE, onnx],
    [MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)],
    [LICENSE_FILE, license],
  ]);
}

/**
 * Converts the face-mask Caffe model in `sourceDir` to ONNX (dynamic batch) and builds its
 * manifest. Pure in its output: the same source files give the same bytes.
 */
export async function buildFaceMaskModel(sourceDir: string): Promise<BuiltModel> {
  const converted = await convertFaceMask(sourceDir);
  const onnx = encodeFaceMask(converted.graph.builder);
  const manifest = faceMaskManifest(converted, onnx, { precision: 'float32', command: CONVERT_COMMAND });
  return { manifest, files: modelFiles(onnx, manifest, converted.license) };
}
