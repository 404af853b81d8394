import { basename, join } from 'node:path';
import { faceMaskModel } from './models/face-mask.js';
import { calibrate, listCalibrationImages, type CalibrationMethod } from './quantize/calibrate.js';
import { calibrationGraph, calibrationTensors, quantizeGraph } from './quantize/qdq.js';
import { convertFaceMask, encodeFaceMask, faceMaskManifest, modelFiles, type BuiltModel } from './build.js';

export const QUANTIZE_COMMAND = 'pnpm convert --int8';

export interface Int8BuildOptions {
  /** Caffe files (as for the float build). */
  sourceDir: string;
  /** Calibration images folder (../shared/fixtures/validation). */
  calibrationDir: string;
  /** How the folder is named in the manifest, relative to the shared data. */
  calibrationLabel?: string;
  method?: CalibrationMethod;
  percentile?: number;
  /** Convolutions kept in float: by default the detection heads (their outputs feed Sigmoid and the box decode). */
  floatConvs?: readonly string[];
}

/** The final loc/cls convolutions of every level: float, so scores and offsets keep full precision. */
export const defaultFloatConvs: readonly string[] = faceMaskModel.levelLayers.flatMap((loc) => [loc.replace('loc_', 'cls_'), loc]);

/**
 * The face-mask model in int8 (static QDQ quantization), calibrated on real photos with
 * the detector's own preprocessing. Deterministic: images in file-name order, ranges
 * rounded to 4 significant digits.
 */
export async function buildFaceMaskInt8Model(options: Int8BuildOptions): Promise<BuiltModel & { ranges: Map<string, { min: number; max: number }> }> {
  const method = options.method ?? 'minmax';
  const floatConvs = [...(options.floatConvs ?? defaultFloatConvs)];
  const images = await listCalibrationImages(options.calibrationDir);

  const forCalibration = await convertFaceMask(options.sourceDir);
  const { builder, tensors } = calibrationGraph(forCalibration.graph);
  const calibrated = await calibrate({
    model: encodeFaceMask(builder),
    tensors,
    inputName: forCalibration.graph.input.name,
    images,
    method,
    percentile: options.percentile,
  });
  // The input is pixel / 255: its range is [0, 1] by construction, so uint8 holds it exactly.
  calibrated.ranges.set(forCalibration.graph.input.name, { min: 0, max: 1 });

  const converted = await convertFaceMask(options.sourceDir);
  if (calibrationTensors(converted.graph).join() !== tensors.join()) throw new Error('calibration and model graphs differ');
  const qdq = quantizeGraph(converted.graph, { ranges: calibrated.ranges, floatConvs: new Set(floatConvs) });
  const methodText = method === 'percentile' ? `percentile ${options.percentile ?? 0.9999} of each tensor's values` : 'min/max over all images';
  const onnx = encodeFaceMask(qdq, ' Quantized to int8 (QDQ).', { precision: 'int8' });
  const manifest = faceMaskManifest(converted, onnx, {
    precision: 'int8',
    command: QUANTIZE_COMMAND,
    quantization: {
      format: 'QDQ',
      weights: 'int8, per output channel (axis 0), symmetric [-63, 63] (7 bits: no int16 saturation on CPUs without VNNI); bias int32 at input scale × weight scale',
      activations: 'uint8, per tensor, asymmetric (zero point 0 after ReLU); input fixed at [0, 1] (scale 1/255)',
      floatNodes: floatConvs,
    },
    calibration: {
      images: options.calibrationLabel ?? basename(options.calibrationDir),
      count: images.length,
      sha256: calibrated.imagesSha256,
      order: 'file name, ascending',
      method: `${methodText}, ranges rounded up to 4 significant digits`,
      preprocess: 'the detector preprocessing: sharp decode, half-pixel bilinear resize to 260×260, RGB / 255',
    },
  });
  return { manifest, files: modelFiles(onnx, manifest, converted.license), ranges: calibrated.ranges };
}

export function defaultCalibrationDir(sharedDir: string): string {
  return join(sharedDir, 'fixtures', 'validation');
}
