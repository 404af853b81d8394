import type { ConvertResult } from '../convert.js';
import { DataType, GraphBuilder, type NodeSpec } from '../onnx/graph-builder.js';

/** Observed range of one activation tensor over the calibration set. */
export interface TensorRange {
  min: number;
  max: number;
}

/** Per-tensor uint8 quantization of an activation: real = (q - zeroPoint) * scale. */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

export interface QdqOptions {
  /** Calibrated range of every activation the quantizer needs (see `calibrationTensors`). */
  ranges: ReadonlyMap<string, TensorRange>;
  /** Convolutions left in float (weights, bias and output): their input is dequantized first. */
  floatConvs: ReadonlySet<string>;
}

const f32 = (v: number) => Math.fround(v);

/** Asymmetric uint8 parameters covering [min, max] (widened to include 0, so 0 is exact: padding, ReLU). */
export function activationQuant(range: TensorRange): ActivationQuant {
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (max - min === 0) return { scale: 1, zeroPoint: 0 };
  const scale = f32((max - min) / 255);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

/**
 * Largest weight magnitude: 7 bits (ONNX Runtime's `reduce_range`). On x86 CPUs without VNNI
 * (AVX2, AVX-512 before VNNI), ONNX Runtime's uint8 × int8 kernels (VPMADDUBSW) add each pair
 * of products into a saturating int16: 2 · 255 · 127 overflows it, 2 · 255 · 63 = 32130 fits.
 * Measured on an AVX2-only host: [-127, 127] weights agree with validation.json on 70.3 % of
 * the photos, [-63, 63] on 98.3 %; with VNNI both are exact, so one model serves every CPU.
 */
export const WEIGHT_QMAX = 63;

/**
 * Per output channel (axis 0), symmetric int8 in [-WEIGHT_QMAX, WEIGHT_QMAX]. `minScales` raises a channel's
 * scale where needed (a near-zero channel with a bias would overflow the int32 bias).
 */
export function quantizeWeightsPerChannel(
  weights: Float32Array,
  channels: number,
  minScales?: Float32Array,
): { q: Int8Array; scales: Float32Array } {
  const per = weights.length / channels;
  const q = new Int8Array(weights.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let absMax = 0;
    for (let i = c * per; i < (c + 1) * per; i++) absMax = Math.max(absMax, Math.abs(weights[i]!));
    const floor = minScales?.[c] ?? 0;
    const scale = absMax === 0 && floor === 0 ? 1 : f32(Math.max(absMax / WEIGHT_QMAX, floor));
    scales[c] = scale;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-WEIGHT_QMAX, Math.min(WEIGHT_QMAX, Math.round(weights[i]! / scale)));
  }
  return { q, scales };
}

function readFloats(raw: Buffer): Float32Array {
  const out = new Float32Array(raw.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = raw.readFloatLE(i * 4);
  return out;
}

function floatsLE(values: Float32Array): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf;
}

/** The tensors whose ranges the quantizer needs: the graph input and every ReLU output. */
export function calibrationTensors(fp32: ConvertResult): string[] {
  return [fp32.input.name, ...fp32.builder.nodeList.filter((n) => n.opType === 'Relu').map((n) => n.outputs[0]!)];
}

/**
 * Rewrites the float graph of `fp32` into a QDQ graph (QuantizeLinear/DequantizeLinear pairs
 * around float ops) that ONNX Runtime fuses into integer kernels:
 *
 * - the input and every ReLU output are uint8 per tensor (calibrated ranges); a ReLU is
 *   dropped, because QuantizeLinear to uint8 with zero point 0 already clamps at 0;
 * - convolution weights are int8 per output channel, symmetric; biases int32 with scale
 *   input scale × weight scale (what QLinearConv expects);
 * - MaxPool runs between a DequantizeLinear and a QuantizeLinear with its input's parameters,
 *   which ONNX Runtime removes (max commutes with a monotonic quantization);
 * - each consumer gets its own DequantizeLinear (one node unit per consumer);
 * - `floatConvs` (the detection heads) and everything after them stay float.
 */
export function quantizeGraph(fp32: ConvertResult, options: QdqOptions): GraphBuilder {
  const src = fp32.builder;
  const g = new GraphBuilder();
  const nodes = src.nodeList;
  const quantized = new Map<string, ActivationQuant & { q: string }>();
  const consumers = new Map<string, NodeSpec[]>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);

  const rangeOf = (name: string): TensorRange => {
    const r = options.ranges.get(name);
    if (!r) throw new Error(`no calibrated range for '${name}'`);
    return r;
  };
  const params = (name: string, quant: ActivationQuant) => ({
    scale: g.addRawInitializer(`${name}.scale`, DataType.FLOAT, [], floatsLE(Float32Array.of(quant.scale))),
    zeroPoint: g.addRawInitializer(`${name}.zero_point`, DataType.UINT8, [], Buffer.from([quant.zeroPoint])),
  });
  /** QuantizeLinear of float `value` into `name` (uint8), with fresh parameters. */
  const quantize = (value: string, name: string, quant: ActivationQuant) => {
    const q = `${name}_quantized`;
    const p = params(name, quant);
    g.addNode('QuantizeLinear', `${name}_QuantizeLinear`, [value, p.scale, p.zeroPoint], [q]);
    quantized.set(name, { ...quant, q });
  };
  /** A DequantizeLinear of `name` for one consumer; returns the float value to read. */
  const dequantizeFor = (name: string, consumer: string): string => {
    const t = quantized.get(name)!;
    const out = `${name}_dequantized_${consumer}`;
    g.addNode('DequantizeLinear', `${name}_DequantizeLinear_${consumer}`, [t.q, `${name}.scale`, `${name}.zero_point`], [out]);
    return out;
  };

  g.addInput(fp32.input);
  quantize(fp32.input.name, fp32.input.name, activationQuant(rangeOf(fp32.input.name)));
  const dropped = new Set<string>(); // ReLUs folded into the QuantizeLinear of their convolution

  for (const node of nodes) {
    if (dropped.has(node.name)) continue;
    if (node.opType === 'Conv' && !options.floatConvs.has(node.name)) {
      const [x, w, b] = node.inputs as [string, string, string | undefined];
      const xq = quantized.get(x);
      if (!xq) throw new Error(`conv ${node.name}: input '${x}' is not quantized`);
      const next = consumers.get(node.outputs[0]!) ?? [];
      const relu = next.length === 1 && next[0]!.opType === 'Relu' ? next[0]! : undefined;
      if (!relu) throw new Error(`conv ${node.name}: quantized convolutions must be followed by one ReLU`);
      const weight = src.initializer(w)!;
      const channels = weight.dims[0]!;
      const bias = b ? readFloats(src.initializer(b)!.raw) : undefined;
      // Keep every quantized bias well inside int32.
      const minScales = bias?.map((v) => Math.abs(v) / (xq.scale * 2 ** 30));
      const { q, scales } = quantizeWeightsPerChannel(readFloats(weight.raw), channels, minScales);
      g.addRawInitializer(`${w}_quantized`, DataType.INT8, weight.dims, Buffer.from(q.buffer, q.byteOffset, q.byteLength));
      g.addRawInitializer(`${w}.scale`, DataType.FLOAT, [channels], floatsLE(scales));
      g.addRawInitializer(`${w}.zero_point`, DataType.INT8, [channels], Buffer.alloc(channels));
      g.addNode('DequantizeLinear', `${w}_DequantizeLinear`, [`${w}_quantized`, `${w}.scale`, `${w}.zero_point`], [`${w}_dequantized`], {
        axis: 0,
      });
      const inputs = [dequantizeFor(x, node.name), `${w}_dequantized`];
      if (b && bias) {
        const bq = Buffer.alloc(channels * 4);
        const bScales = new Float32Array(channels);
        for (let c = 0; c < channels; c++) {
          bScales[c] = f32(xq.scale * scales[c]!);
          bq.writeInt32LE(Math.round(bias[c]! / bScales[c]!), c * 4);
        }
        g.addRawInitializer(`${b}_quantized`, DataType.INT32, [channels], bq);
        g.addRawInitializer(`${b}.scale`, DataType.FLOAT, [channels], floatsLE(bScales));
        g.addRawInitializer(`${b}.zero_point`, DataType.INT32, [channels], Buffer.alloc(channels * 4));
        g.addNode('DequantizeLinear', `${b}_DequantizeLinear`, [`${b}_quantized`, `${b}.scale`, `${b}.zero_point`], [`${b}_dequantized`], {
          axis: 0,
        });
        inputs.push(`${b}_dequantized`);
      }
      g.addNode('Conv', node.name, inputs, node.outputs, node.attributes);
      dropped.add(relu.name);
      const reluOut = relu.outputs[0]!;
      quantize(node.outputs[0]!, reluOut, activationQuant({ ...rangeOf(reluOut), min: 0 }));
      continue;
    }
    if (node.opType === 'MaxPool' && quantized.has(node.inputs[0]!)) {
      const x = node.inputs[0]!;
      g.addNode('MaxPool', node.name, [dequantizeFor(x, node.name)], node.outputs, node.attributes);
      const xq = quantized.get(x)!;
      quantize(node.outputs[0]!, node.outputs[0]!, { scale: xq.scale, zeroPoint: xq.zeroPoint });
      continue;
    }
    // Float from here on: copy the node and its float initializers, dequantizing quantized inputs.
    const inputs = node.inputs.map((i) => {
      if (quantized.has(i)) return dequantizeFor(i, node.name);
      const init = src.initializer(i);
      if (init && !g.has(i)) g.addRawInitializer(i, init.dataType, init.dims, init.raw);
      return i;
    });
    g.addNode(node.opType, node.name, inputs, node.outputs, node.attributes);
    // A float ReLU (after a float convolution) that feeds integer ops is quantized here.
    const out = node.outputs[0]!;
    const feedsInteger = (consumers.get(out) ?? []).some((c) => c.opType === 'MaxPool' || (c.opType === 'Conv' && !options.floatConvs.has(c.name)));
    if (node.opType === 'Relu' && feedsInteger) quantize(out, out, activationQuant({ ...rangeOf(out), min: 0 }));
  }
  for (const out of fp32.outputs) g.addOutput(out);
  return g;
}

/** The float graph with the calibration tensors as extra outputs (after the model's own). */
export function calibrationGraph(fp32: ConvertResult): { builder: GraphBuilder; tensors: string[] } {
  const tensors = calibrationTensors(fp32);
  for (const name of tensors) {
    if (name === fp32.input.name) continue;
    fp32.builder.addOutput({ name, elemType: DataType.FLOAT, shape: fp32.shapes.get(name)! });
  }
  return { builder: fp32.builder, tensors };
}
